#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// The real `tickbus history fetch` against the real `tickbus sim`.
@Suite(.serialized)
struct HistoryFetchProcessTests {
    @Test func fetchesMonthFilesThenSkipsThem() async throws {
        let port = freeTCPPort()
        let sim = try TickBusProcess(["sim", "--port", "\(port)", "--rate", "50", "--seed", "3"])
        defer {
            sim.interrupt()
            sim.finish()
        }
        try await waitUntilListening(sim, port)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tickbus-fetch-process-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let envFile = directory + "/.env"
        try "MASSIVE_API_KEY=k\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let arguments = [
            "history", "fetch", "--symbol", "SPY", "--start", "2025-01-31", "--end", "2025-02-03",
            "--base-url", "http://127.0.0.1:\(port)", "--output-dir", directory + "/raw_1s", "--env-file", envFile,
        ]

        let (status, out, err) = await (try TickBusProcess(arguments)).wait()
        #expect(status == 0, "stderr: \(err)")
        #expect(out.contains("SPY: done, 2/2 months"), "\(out)")
        for month in ["01", "02"] {
            let csv = try #require(FileManager.default.contents(atPath: "\(directory)/raw_1s/SPY/SPY_2025_\(month).csv"))
            let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n")
            #expect(lines.first == "ts_event,open,high,low,close,volume")
            #expect(lines.count > 10_000)
            #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("2025-\(month)-") && $0.contains("+00:00,") })
        }

        let (again, out2, err2) = await (try TickBusProcess(arguments)).wait()
        #expect(again == 0, "stderr: \(err2)")
        #expect(out2.contains("SPY: done, 2/2 months (2 up to date), 0 rows written"), "\(out2)")

        let (bad, _, badErr) = await (try TickBusProcess(["history", "fetch", "--symbol", "../x", "--start", "2025-01-31", "--end", "2025-01-31"])).wait()
        #expect(bad == 1)
        #expect(badErr.contains("tickbus history fetch: bad symbol \"../x\""))
    }

    /// `kill -9` in the middle of a fetch, then the same command again: the files equal those of
    /// a run that was never interrupted, with no temporary file left.
    @Test func aKilledFetchResumesToTheSameFiles() async throws {
        let port = freeTCPPort()
        // Every second REST request waits a second (429 + Retry-After), so the kill lands mid-run.
        let sim = try TickBusProcess(["sim", "--port", "\(port)", "--rate", "50", "--seed", "4",
                                      "--rest-error-every", "2", "--rest-retry-after", "1"])
        defer {
            sim.interrupt()
            sim.finish()
        }
        try await waitUntilListening(sim, port)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tickbus-fetch-kill-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let envFile = directory + "/.env"
        try "MASSIVE_API_KEY=k\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        func arguments(_ output: String) -> [String] {
            ["history", "fetch", "--symbol", "SPY", "--start", "2025-01-31", "--end", "2025-02-01",
             "--base-url", "http://127.0.0.1:\(port)", "--output-dir", output, "--env-file", envFile]
        }
        let killed = try TickBusProcess(arguments(directory + "/resumed"))
        try await Task.sleep(for: .seconds(2))
        killed.killHard()
        #expect(await killed.wait().0 != 0, "the first run ended before it was killed")
        let (status, _, err) = await (try TickBusProcess(arguments(directory + "/resumed"))).wait()
        #expect(status == 0, "stderr: \(err)")
        let (cleanStatus, _, cleanErr) = await (try TickBusProcess(arguments(directory + "/clean"))).wait()
        #expect(cleanStatus == 0, "stderr: \(cleanErr)")
        for month in ["01", "02"] {
            let resumed = FileManager.default.contents(atPath: "\(directory)/resumed/SPY/SPY_2025_\(month).csv")
            let clean = FileManager.default.contents(atPath: "\(directory)/clean/SPY/SPY_2025_\(month).csv")
            #expect(resumed != nil && resumed == clean, "SPY_2025_\(month).csv differs after the kill")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/resumed/SPY").filter { $0.contains(".tmp") }
        #expect(left.isEmpty, "\(left)")
    }

    /// Waits until `sim` accepts connections on `port`; throws with its output if it exits first.
    /// A minute: the first launches of a debug binary with the whole suite running in parallel
    /// on 2 cores once took more than 20 s.
    private func waitUntilListening(_ sim: TickBusProcess, _ port: Int) async throws {
        try await sim.waitUntil(timeout: 60, "tickbus sim listening on port \(port)") { _, _ in
            onLoopback(port: port, connect)
        }
    }
}
