import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Simulator

/// Crypto `r` (when Massive received the event) is never later than delivery.
@Suite("Crypto receive times")
struct CryptoTimesTests {
    @Test("crypto XT/XQ: t ≤ r, and r is never later than the frame is sent")
    func cryptoReceiveTimes() async throws {
        var config = testConfiguration(rate: 400)
        let checked = Atomic<Int>(0)
        let violations = Mutex<[String]>([])
        config.frameObserver = { market, buffer in
            guard market == .crypto else { return }
            let sentMs = WallClock.nowNanos() / 1_000_000
            let data = Data(buffer.readableBytesView)
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return }
            for e in array where e["ev"] as? String == "XT" || e["ev"] as? String == "XQ" {
                guard let r = int64(e["r"]), let t = int64(e["t"]) else { continue }
                checked.add(1, ordering: .relaxed)
                if r > sentMs || t > r { violations.withLock { $0.append("t=\(t) r=\(r) sent=\(sentMs)") } }
            }
        }
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.crypto)) { ws in
                try await ws.auth()
                try await ws.subscribe("XT.*,XQ.*")
                try await ws.waitUntil("crypto trades and quotes") { $0.with(ev: "XT").count >= 50 }
            }
        }
        #expect(checked.load(ordering: .relaxed) >= 50)
        #expect(violations.withLock { $0 }.isEmpty)
    }
}
