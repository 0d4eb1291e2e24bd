import Control
import Testing
import TickBusCore

/// What `tickbus ctl` prints.
struct ControlReplyFormatterTests {
    /// `ctl snapshot` shows a status record's body, from the `json` key records carry.
    @Test func snapshotShowsStatusBodies() throws {
        let status = Status(
            header: RecordHeader(tsEvent: 1_704_187_800_000_000_000, tsRecv: 0, symbol: "ingest"), level: .warning,
            json: #"{"event":"reconnected","gap_start":1}"#)
        let reply = try JSONValue.parse(#"{"ok":true,"records":["# + RecordFormatter.json(.status(status)) + "]}")
        let text = ControlReplyFormatter.snapshot(reply)
        #expect(text.contains("S.ingest"))
        #expect(text.contains(#"{"event":"reconnected","gap_start":1}"#), "\(text)")
    }

    /// Control bytes a peer put into a reply are shown, not obeyed.
    @Test func terminalSafeEscapesControlCharacters() {
        #expect(ControlReplyFormatter.terminalSafe("T.\u{1B}[2J\u{7}\u{0}\u{7F}\u{9B}ok\nnext")
            == "T.\\u{1B}[2J\\u{7}\\u{0}\\u{7F}\\u{9B}ok\nnext")
        #expect(ControlReplyFormatter.terminalSafe("AAPL é €") == "AAPL é €")
    }
}
