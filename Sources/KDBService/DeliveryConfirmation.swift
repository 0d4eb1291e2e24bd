import KDB

/// Delivery confirmation on one tickerplant connection, as feed handlers do it: after async
/// `.u.upd` messages, a sync `""` ("chaser"); q handles a connection's messages in order, so its
/// response means every message written before it was processed. One chaser is outstanding at a
/// time. Rows written but not yet confirmed are what a tickerplant crash loses.
struct DeliveryConfirmation {
    /// The chaser: a sync empty char vector (`h""`), which q answers with `::`.
    static let chaser: [UInt8] = [1, 1, 0, 0, 14, 0, 0, 0, 10, 0, 0, 0, 0, 0]

    /// Rows written and confirmed on this connection.
    private(set) var sent: UInt64 = 0
    private(set) var confirmed: UInt64 = 0
    /// Responses still due, oldest first: the rows a chaser confirms, or nil for a reply to drop
    /// (a schema check that came too late).
    private var due: [UInt64?] = []
    private var dueSince: Int64 = 0
    private var lastChaserAt: Int64
    /// Unparsed response bytes, and a reused receive buffer.
    private var inbox: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 4096)
    /// The response stream could not be followed (an unreadable reply): no more confirmations.
    private(set) var broken = false
    /// Whether the slow-tickerplant warning was logged for the chaser due now.
    var warnedSlow = false

    init(now: Int64, lateReply: Bool, broken: Bool) {
        lastChaserAt = now
        self.broken = broken
        if lateReply { due.append(nil); dueSince = now }
    }

    /// Rows sent and not (yet) confirmed.
    var unconfirmed: UInt64 { sent - confirmed }

    /// Whether everything written is confirmed (or can no longer be).
    var settled: Bool { broken || (due.isEmpty && confirmed == sent) }

    /// How long the oldest response has been due (0: none is).
    func waiting(now: Int64) -> Int64 { due.isEmpty ? 0 : now - dueSince }

    mutating func wrote(rows: Int) { sent += UInt64(rows) }

    /// Writes a chaser when none is due and rows are unconfirmed: at once when `force` (draining
    /// at exit), else after `rows` rows or `intervalNs` since the last one.
    mutating func chase(_ socket: TCPSocket, now: Int64, rows: Int, intervalNs: Int64, force: Bool = false) throws {
        guard !broken, due.isEmpty, sent > confirmed else { return }
        guard force || sent - confirmed >= UInt64(rows) || now - lastChaserAt >= intervalNs else { return }
        try socket.writeAll(Self.chaser)
        due.append(sent)
        dueSince = now
        lastChaserAt = now
        warnedSlow = false
    }

    /// Reads what the tickerplant sent without waiting and takes its responses in order. Throws
    /// when the connection is closed or failed.
    mutating func receive(_ socket: TCPSocket, now: Int64) throws {
        while true {
            let n = scratch.withUnsafeMutableBytes { socket.receiveNow(into: $0) }
            guard let n else { break }
            guard n > 0 else { throw SocketError(operation: "closed by the tickerplant", code: 0) }
            if !broken { inbox.append(contentsOf: scratch[0..<n]) }
        }
        while !broken && inbox.count >= 8 {
            let length = Int(inbox[4]) | Int(inbox[5]) << 8 | Int(inbox[6]) << 16 | Int(inbox[7]) << 24
            guard length >= 9 && length <= 1 << 26 else {
                broken = true
                inbox = []
                return
            }
            guard inbox.count >= length else { return }
            if inbox[1] == KMessageType.response.rawValue, !due.isEmpty {
                if let mark = due.removeFirst() { confirmed = mark }
                dueSince = now
            }
            inbox.removeFirst(length)
        }
    }
}
