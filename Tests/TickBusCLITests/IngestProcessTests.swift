import Foundation
import TestSupport
import Testing

/// `tickbus ingest` against a `tickbus sim` that misbehaves, as real processes.
@Suite(.serialized)
struct IngestProcessTests {
    /// An upstream that accepts TCP and never answers the WebSocket upgrade: each attempt ends
    /// after --step-timeout with that reason, and SIGTERM stops ingest at once (it used to wait
    /// on the upgrade forever).
    @Test func aSilentUpgradeTimesOutAndSIGTERMStopsIngestPromptly() async throws {
        let simPort = freeTCPPort(), busPort = freeTCPPort()
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--silent-at", "upgrade"])
        defer { sim.interrupt(); sim.finish() }
        let state = NSTemporaryDirectory() + uniqueName("ingest-silent") + "/subs.json"
        let ingest = try TickBusProcess([
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.AAPL",
            "--bus", "tcp://127.0.0.1:\(busPort)", "--control", "none", "--state-file", state, "--step-timeout", "0.5",
        ])
        try await ingest.waitUntil(timeout: 30, "two upgrade timeouts") { _, err in
            err.components(separatedBy: "no WebSocket upgrade within 0.5 seconds").count > 2
        }
        let stopping = Date()
        ingest.terminate()
        let (status, _, err) = await ingest.wait()
        #expect(status == 0, "\(err)")
        // Measured 0.05 s; the bound leaves room for a loaded machine, where the old code never stopped.
        #expect(Date().timeIntervalSince(stopping) < 15)
    }
}
