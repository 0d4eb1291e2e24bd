import Foundation
import TestSupport
import Testing

/// `tickbus demo` as a newcomer runs it: upstream and local bars printed within seconds, and
/// the CSV tree written.
struct DemoProcessTests {
    @Test func demoPrintsUpstreamAndLocalBarsAndWritesTheArchive() async throws {
        let (sim, bus, control, barsBus, archive) = (freeTCPPort(), freeTCPPort(), freeTCPPort(), freeTCPPort(), freeTCPPort())
        let data = NSTemporaryDirectory() + "tickbus-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let demo = try TickBusProcess([
            "demo", "--seconds", "6", "--symbols", "AAPL,MSFT", "--sim-port", "\(sim)",
            "--bus", "tcp://127.0.0.1:\(bus)", "--control", "tcp://127.0.0.1:\(control)",
            "--bars-bus", "tcp://127.0.0.1:\(barsBus)", "--archive-status", "tcp://127.0.0.1:\(archive)",
            "--data-dir", data,
        ])
        let (status, out, err) = await demo.wait()
        #expect(status == 0, "stderr: \(err)")
        let bars = out.split(separator: "\n").filter { $0.contains(" AAPL ") || $0.contains(" MSFT ") }
        var upstream: [String: String] = [:], local: [String: String] = [:]
        for line in bars {
            // time, source, symbol, open, high, low, close, volume
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            #expect(fields.count == 8, "\(line)")
            guard fields.count == 8 else { continue }
            let prices = fields[3...6].compactMap { Double($0) }
            #expect(prices.count == 4 && prices[1] >= prices[2] && prices[1] >= prices[0] && prices[2] <= prices[3], "\(line)")
            let key = fields[0] + " " + fields[2]
            if fields[1] == "A" { upstream[key] = fields[3...].joined(separator: " ") } else { local[key] = fields[3...].joined(separator: " ") }
        }
        #expect(upstream.count >= 4 && local.count >= 4, "stdout: \(out)")
        // Bars built from the trades equal the simulator's own bars of the same second (the
        // first second may differ: ingest subscribed in the middle of it).
        let both = Set(upstream.keys).intersection(local.keys)
        #expect(both.filter { upstream[$0] == local[$0] }.count >= both.count - 2 && both.count >= 2, "A \(upstream)\nB1s \(local)")
        for path in ["raw_1s/AAPL", "trades/MSFT", "aggregated/1s"] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: data + "/" + path)) ?? []
            #expect(!files.isEmpty, "nothing under \(path)")
        }
    }
}
