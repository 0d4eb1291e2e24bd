import ArgumentParser
import Foundation
import Simulator
import Benchmarks
import History

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput. Build with -c release for meaningful figures.",
        subcommands: [Bus.self, Proxy.self, Replay.self, Codec.self, Decode.self, Sim.self, Ingest.self, Control.self, Fetch.self, Resample.self, Bars.self, Archive.self, KDB.self, All.self],
        defaultSubcommand: All.self)

    struct Options: ParsableArguments {
        @Flag(help: "One JSON object per figure instead of a table.")
        var json = false

        func report(_ figures: [Figure]) {
            if json {
                figures.forEach { print($0.json) }
            } else {
                print(BenchmarkTable.render(figures))
            }
        }
    }

    struct Bus: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trade records through the bus vs raw libzmq frames of the same size, tcp and ipc.")
        @OptionGroup var options: Options
        @Option(help: "Messages per run.") var count = 1_000_000
        @Option(help: "Runs per figure (the median is reported).") var repeats = 3
        @Option(name: .customLong("transport"), help: "tcp, ipc or inproc; repeatable.")
        var transports: [String] = ["tcp", "ipc"]

        func validate() throws {
            for t in transports where !["tcp", "ipc", "inproc"].contains(t) {
                throw ValidationError("unknown transport \(t): use tcp, ipc or inproc")
            }
        }

        func run() throws {
            options.report(try BusBenchmark.run(count: count, transports: transports, repeats: repeats))
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trade records replayed from a journal to a client vs the live bus in the same run (tcp).")
        @OptionGroup var options: Options
        @Option(help: "Records in the journal.") var count = 2_000_000
        @Option(help: "Runs per figure (the median is reported).") var repeats = 3
        @Option(help: "Seconds the recovering subscriber reads nothing.") var pause = 60.0
        @Option(help: "Records per second published meanwhile.") var rate = 100_000

        func run() throws {
            options.report(try ReplayBenchmark.run(count: count, repeats: repeats, pause: .milliseconds(Int64(pause * 1000)), rate: rate))
        }
    }

    struct Proxy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trade records through tickbus proxy vs publisher → subscriber directly (tcp, lossless).")
        @OptionGroup var options: Options
        @Option(help: "Messages per run.") var count = 1_000_000
        @Option(help: "Runs per figure (the median is reported).") var repeats = 3

        func run() throws {
            options.report(try ProxyBenchmark.run(count: count, repeats: repeats))
        }
    }

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encode + decode of trade records on one core.")
        @OptionGroup var options: Options
        @Option(help: "Records to encode and decode.") var count = 20_000_000

        func run() throws {
            options.report(CodecBenchmark.run(count: count))
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Massive trade and quote frames: tickbus's scanner vs Foundation JSONDecoder.")
        @OptionGroup var options: Options
        @Option(help: "Events per kind for the scanner (JSONDecoder gets a tenth).") var events = 2_000_000

        func run() throws {
            options.report(DecodeBenchmark.run(events: events))
        }
    }

    struct Sim: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The simulator's event generation + JSON encoding on one core.")
        @OptionGroup var options: Options
        @Option(help: "Events to generate.") var events = 2_000_000

        func run() throws {
            options.report([simulatorFigure(events: events)])
        }
    }

    static func simulatorFigure(events: Int) -> Figure {
        Figure(name: "sim: generate + encode Massive events", value: SimulatorBenchmark.encodeRate(events: events),
               unit: "events/s", target: ">= 2M")
    }

    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "tickbus sim -> tickbus ingest (child processes) -> a subscriber: throughput, loss, latency, RSS.")
        @OptionGroup var options: Options
        @Option(help: "Seconds per measurement.") var seconds: Double = 5
        @Option(help: "Events/s for the latency measurement.") var latencyRate = 100_000
        @Option(help: "Events/s the simulator is asked for in the full-speed measurement.") var rate = 2_000_000

        func run() throws {
            options.report(try IngestBenchmark.run(
                executable: CommandLine.executablePath, seconds: seconds, latencyRate: latencyRate, fullRate: rate))
        }
    }

    struct Control: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "tickbus sim + ingest (child processes) through the control socket: ping, snapshot, backfill rate.")
        @OptionGroup var options: Options
        @Option(help: "Round trips for ping (a quarter of them for snapshot).") var requests = 20_000
        @Option(help: "Days of second bars the backfill fetches (from 2024-01-02).") var days = 10

        func run() throws {
            options.report(try ControlBenchmark.run(
                executable: CommandLine.executablePath, requests: requests, backfillDays: days))
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "history fetch's own work: REST pages parsed from memory and written as monthly CSV.")
        @OptionGroup var options: Options

        func run() throws {
            options.report([try Bench.fetchFigure()])
        }
    }

    struct Resample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A year of 1-second bars resampled to 15s, 30s, 1min: tickbus vs pandas (when installed).")
        @OptionGroup var options: Options
        @Option(help: "Working directory (default: a temporary one, removed after).") var directory: String?

        func run() throws {
            options.report(try Bench.resampleFigures(directory: directory))
        }
    }

    struct Bars: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "tickbus bars' engine: trades → bars on one core.")
        @OptionGroup var options: Options
        @Option(help: "Trades per run.") var trades = 10_000_000

        func run() throws {
            options.report(BarsBenchmark.run(trades: trades))
        }
    }

    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "tickbus archive's writer: bars and trades → CSV files.")
        @OptionGroup var options: Options
        @Option(help: "Rows per kind.") var rows = 3_000_000

        func run() throws {
            options.report(try Bench.archiveFigures(rows: rows))
        }
    }

    struct KDB: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "kdb+: trade rows encoded as .u.upd batches on one core; bus → kdb publish → a tickerplant on loopback.")
        @OptionGroup var options: Options
        @Option(help: "Rows to encode.") var rows = 20_000_000
        @Option(help: "Trades published on the bus for the pipeline figures.") var records = 2_000_000

        func run() throws {
            options.report(try KDBBenchmark.run(rows: rows, busRecords: records))
        }
    }

    struct All: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every benchmark.")
        @OptionGroup var options: Options

        func run() throws {
            options.report(
                CodecBenchmark.run(count: 20_000_000) + (try BusBenchmark.run(count: 1_000_000))
                    + (try ProxyBenchmark.run(count: 1_000_000)) + (try ReplayBenchmark.run(count: 2_000_000, pause: .seconds(60)))
                    + DecodeBenchmark.run(events: 2_000_000) + [simulatorFigure(events: 2_000_000)]
                    + (try IngestBenchmark.run(executable: CommandLine.executablePath, seconds: 5, latencyRate: 100_000))
                    + (try ControlBenchmark.run(executable: CommandLine.executablePath, requests: 20_000, backfillDays: 10))
                    + [try Bench.fetchFigure()] + (try Bench.resampleFigures(directory: nil))
                    + BarsBenchmark.run(trades: 10_000_000) + (try Bench.archiveFigures(rows: 3_000_000))
                    + (try KDBBenchmark.run(rows: 20_000_000, busRecords: 2_000_000)))
        }
    }
}

/// Wiring for benchmarks that need files or other programs.
enum Bench {
    static func fetchFigure() throws -> Figure {
        let result = try FetchBenchmark.run()
        return Figure(name: "fetch: REST pages parsed and written as CSV rows (no network)", value: result.rowsPerSecond,
                      unit: "rows/s", target: ">= 1M")
    }

    static func archiveFigures(rows: Int) throws -> [Figure] {
        let root = NSTemporaryDirectory() + "tickbus-bench-archive-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        return try ArchiveBenchmark.run(rows: rows, directory: root)
    }

    static func resampleFigures(directory: String?) throws -> [Figure] {
        let root = directory ?? NSTemporaryDirectory() + "tickbus-bench-resample-\(getpid())"
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
        let (rows, bytes) = try ResampleBenchmark.generate(in: root)
        let ours = try ResampleBenchmark.run(in: root)
        var figures = [
            Figure(name: "resample: \(rows) 1 s rows (\(bytes / 1_000_000) MB) to 15s, 30s, 1min", value: ours.seconds * 1000, unit: "ms"),
            Figure(name: "resample: rows/s", value: Double(rows) / ours.seconds, unit: "rows/s"),
            Figure(name: "resample: peak memory of the process", value: ours.peakMegabytes, unit: "MB", target: "<= 100"),
        ]
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("benchmarks/pandas_resample.py").path
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", script, root, "BENCH"]
        let output = Pipe()
        python.standardOutput = output
        python.standardError = FileHandle.nullDevice
        if FileManager.default.fileExists(atPath: script), (try? python.run()) != nil {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            python.waitUntilExit()
            let parts = text.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if python.terminationStatus == 0, parts.count == 2 {
                figures.append(Figure(name: "resample: pandas read_csv(parse_dates) + resample + to_csv", value: parts[0] * 1000,
                                      unit: "ms"))
                figures.append(Figure(name: "resample: pandas peak memory", value: parts[1], unit: "MB"))
                figures.append(Figure(name: "resample: tickbus speed-up over pandas", value: parts[0] / ours.seconds, unit: "x",
                                      target: ">= 10"))
            }
        }
        return figures
    }
}

extension CommandLine {
    /// The path of this executable (for benchmarks that start tickbus processes).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
