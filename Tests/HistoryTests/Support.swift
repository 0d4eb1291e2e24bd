import Archive
import Foundation
import TickBusCore

/// A fresh directory under the system's temporary directory.
func temporaryDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "tickbus-\(label)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `SYM/SYM_YYYY_MM.csv` under `directory` with random 1-second bars for `days` days of
/// the month from 14:30 to 21:00 UTC, about 40% of seconds empty; returns the rows written.
@discardableResult
func writeRandomSecondBars(
    _ directory: String, symbol: String, year: Int64, month: Int64, days: ClosedRange<Int64>, seed: UInt64
) throws -> [BarRow] {
    var state = seed
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    var rows: [BarRow] = []
    var cents: Int64 = 47_500
    for day in days {
        let midnight = UTCTime.daysSinceEpoch(year: year, month: month, day: day) * 86_400
        for second in stride(from: midnight + 14 * 3600 + 1800, to: midnight + 21 * 3600, by: 1) where next() % 10 >= 4 {
            let open = cents
            cents = max(100, cents + Int64(next() % 21) - 10)
            let high = max(open, cents) + Int64(next() % 4), low = min(open, cents) - Int64(next() % 4)
            func price(_ c: Int64) -> Price { Price(raw: c * 10_000_000) }
            rows.append(BarRow(start: second * 1_000_000_000, open: price(open), high: price(high), low: price(low),
                               close: price(cents), volume: Double(1 + next() % 5_000)))
        }
    }
    var text: [UInt8] = Array((BarCSV.header + "\n").utf8)
    for row in rows { BarCSV.append(row, to: &text) }
    let folder = "\(directory)/\(symbol)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(text).write(to: URL(fileURLWithPath: "\(folder)/\(ArchivePath.monthStem(symbol, Int(year), Int(month))).csv"))
    return rows
}

/// Runs a program and returns its exit status and standard error, without holding a thread of
/// the test runner's pool while it runs.
func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    let status = try await withCheckedThrowingContinuation { (done: CheckedContinuation<Int32, any Error>) in
        process.terminationHandler = { done.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { done.resume(throwing: error) }
    }
    return (status, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}
