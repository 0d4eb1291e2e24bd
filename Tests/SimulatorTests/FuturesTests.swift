import Testing

@testable import Simulator

/// Futures, which the simulator does not simulate, answered like a cluster the plan does not
/// include.
@Suite("Futures")
struct FuturesTests {
    @Test("futures: connected, then auth_failed (the plan text) and a close, like a cluster outside the plan")
    func futures() async throws {
        var config = testConfiguration()
        config.apiKey = "secret"
        try await withSimulator(config) { sim in
            let port = try await sim.port()
            for path in ["futures", "futures/cme"] {
                try await withWebSocket("ws://127.0.0.1:\(port)/\(path)") { ws in
                    try await ws.waitUntil("connected") { !$0.isEmpty }
                    try await ws.subscribe("T.*")
                    try await ws.auth("secret")
                    try await ws.waitClosed()
                    #expect(ws.statuses.map(\.status) == ["connected", "error", "auth_failed"])
                    #expect(ws.statuses.last?.message == WebSocketSession.noWebSocketPlan)
                }
            }
            try await withWebSocket("ws://127.0.0.1:\(port)/futures") { ws in
                try await ws.auth("wrong")
                try await ws.waitClosed()
                #expect(ws.statuses.last! == ("auth_failed", "authentication failed"))
            }
        }
    }
}
