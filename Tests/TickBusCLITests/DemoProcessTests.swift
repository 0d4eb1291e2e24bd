import Foundation
import Testing

/// `tickbus demo` as a newcomer runs it: bars must be printed within seconds.
struct DemoProcessTests {
    @Test func demoPrintsBarsEverySecond() async throws {
        let base = 20_000 + Int(getpid() % 20_000)
        let demo = try TickBusProcess([
            "demo", "--seconds", "5", "--symbols", "AAPL,MSFT", "--sim-port", "\(base)",
            "--bus", "tcp://127.0.0.1:\(base + 1)",
        ])
        let (status, out, err) = await demo.wait()
        #expect(status == 0, "stderr: \(err)")
        let bars = out.split(separator: "\n").filter { $0.contains(" AAPL ") || $0.contains(" MSFT ") }
        #expect(bars.count >= 4, "stdout: \(out)")
        for line in bars {
            // time, symbol, open, high, low, close, volume
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.count == 7, "\(line)")
            let prices = fields[2...5].compactMap { Double($0) }
            #expect(prices.count == 4 && prices[1] >= prices[2] && prices[1] >= prices[0] && prices[2] <= prices[3], "\(line)")
        }
    }
}
