import Archive
import Bus
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus archive`: records from the bus into per-symbol monthly CSV files (docs/archive.md).
/// One thread owns the subscriber and the ``ArchiveWriter``; batches reach the files every
/// `flushInterval` and at shutdown. Write failures, recoveries, repairs, refused symbols and
/// input gaps go out on `S.<name>` and in the log.
public final class ArchiveService: Service, Sendable {
    public struct Configuration: Sendable {
        /// Bus endpoints to read from (ingest's, and bars' for `B<label>` bars).
        public var input: [String]
        /// What to archive.
        public var filters: [TopicFilter]
        /// Endpoints for `S.<name>` and `H.<name>`.
        public var output: [String]
        public var writer: ArchiveWriter.Configuration
        public var flushInterval: Duration
        public var name: String
        /// CURVE for reading the bus (a client of its publishers); nil: plain.
        public var inputSecurity: CurveSecurity?
        /// CURVE for the status publisher (a server); nil: plain.
        public var outputSecurity: CurveSecurity?
        /// How often the counters are exported through swift-metrics; nil: not exported.
        public var metricsInterval: Duration?

        public init(
            input: [String] = ["tcp://127.0.0.1:7700", "tcp://127.0.0.1:7702"],
            filters: [TopicFilter] = ArchiveService.defaultFilters, output: [String] = ["tcp://127.0.0.1:7705"],
            writer: ArchiveWriter.Configuration = .init(), flushInterval: Duration = .seconds(1), name: String = "archive",
            inputSecurity: CurveSecurity? = nil, outputSecurity: CurveSecurity? = nil, metricsInterval: Duration? = nil
        ) {
            self.inputSecurity = inputSecurity
            self.outputSecurity = outputSecurity
            self.metricsInterval = metricsInterval
            self.input = input
            self.filters = filters
            self.output = output
            self.writer = writer
            self.flushInterval = flushInterval
            self.name = name
        }
    }

    /// Trades, quotes, upstream bars and built bars.
    public static let defaultFilters: [TopicFilter] = ["T.", "Q.", "A.", "AM.", "B*"].map { try! TopicFilter($0) }

    public struct Counters: Sendable, Equatable {
        public var records: UInt64 = 0
        /// Records the archive missed while it was down (from its checkpoint; see docs/archive.md).
        public var missedWhileDown: UInt64 = 0
        public var writer = ArchiveWriter.Counters()
        public var gaps: UInt64 = 0
        public var lost: UInt64 = 0
        public var restarts: UInt64 = 0
    }

    public let configuration: Configuration
    private let context: ZMQContext
    private let logger: Logger
    private let state = Mutex<(counters: Counters, endpoints: [String])>((Counters(), []))
    private let stopping = StopFlag()

    public init(configuration: Configuration, context: ZMQContext, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// The status publisher's endpoints once bound.
    public var endpoints: [String] { state.withLock { $0.endpoints } }

    public func run() async throws {
        let publisher = try PublisherService(
            context: context,
            configuration: .init(name: configuration.name, endpoints: configuration.output, security: configuration.outputSecurity))
        defer { publisher.stop() }
        state.withLock { $0.endpoints = publisher.endpoints }
        logger.info("archiving", metadata: [
            "directory": "\(configuration.writer.directory)", "topics": "\(configuration.filters)",
            "from": "\(configuration.input.joined(separator: " "))"])
        try await publisher.watching { [self] in
            try await runOnOwnThread(named: "archive", stop: stopping) { [self] in try archive(publisher) }
        }
    }


    /// The archiving thread: read records, batch them, flush on time and at the end.
    private func archive(_ publisher: PublisherService) throws {
        let subscriber = try Subscriber(
            context: context,
            configuration: .init(endpoints: configuration.input, filters: configuration.filters, security: configuration.inputSecurity))
        let writer = ArchiveWriter(configuration: configuration.writer)
        var checkpoint = ArchiveCheckpoint(path: configuration.writer.directory + "/.archive-checkpoint")
        let name = try Symbol(configuration.name)
        let outbox = StatusOutbox(publisher: publisher, name: name)
        var counters = Counters()
        let interval = configuration.flushInterval.nanoseconds
        var nextFlush = WallClock.nanoseconds() + interval
        let metrics = configuration.metricsInterval.map { _ in SnapshotMetrics(dimensions: [("process", configuration.name)]) }
        var nextExport = Int64.min
        func flush() {
            writer.flush { event in report(outbox, event) }
            checkpoint.advance(written: writer.isWritten)
            do { try checkpoint.save() } catch { logger.error("cannot save the checkpoint: \(error)") }
            counters.writer = writer.counters
            if let metrics, let every = configuration.metricsInterval, WallClock.nanoseconds() >= nextExport {
                export(counters, metrics, publisher)
                nextExport = WallClock.nanoseconds() + every.nanoseconds
            }
            let snapshot = counters
            state.withLock { $0.counters = snapshot }
        }
        defer {
            flush()
            writer.close()
        }
        while !stopping.isSet {
            if let event = try subscriber.next(timeout: .milliseconds(50)) {
                switch event {
                case .record(let record):
                    guard let file = writer.add(record) else { break }
                    counters.records += 1
                    if let missed = checkpoint.note(record, file: file) {
                        if case .records(_, let lost, _, _) = missed { counters.missedWhileDown += lost }
                        report(outbox, missed)
                    }
                case .gap(_, _, _, let lost):
                    counters.gaps += 1
                    counters.lost += lost
                    input(outbox, event)
                case .restart:
                    counters.restarts += 1
                    input(outbox, event)
                default:
                    break
                }
            }
            outbox.flush()
            if WallClock.nanoseconds() >= nextFlush {
                flush()
                nextFlush = WallClock.nanoseconds() + interval
            }
        }
    }

    /// Exports the counters through swift-metrics at flush time; docs/operations.md lists the names.
    private func export(_ c: Counters, _ metrics: SnapshotMetrics, _ publisher: PublisherService) {
        metrics.count("tickbus_archive_records_total", total: c.records)
        metrics.count("tickbus_archive_rows_total", total: c.writer.rows)
        metrics.count("tickbus_archive_duplicates_total", total: c.writer.duplicates)
        metrics.count("tickbus_archive_refused_total", total: c.writer.refused)
        metrics.count("tickbus_archive_late_bars_total", total: c.writer.late)
        metrics.count("tickbus_archive_dropped_total", total: c.writer.dropped)
        metrics.count("tickbus_archive_write_errors_total", total: c.writer.writeErrors)
        metrics.count("tickbus_archive_repairs_total", total: c.writer.repairs)
        metrics.count("tickbus_archive_missed_while_down_total", total: c.missedWhileDown)
        metrics.count("tickbus_archive_input_gaps_total", total: c.gaps)
        metrics.count("tickbus_archive_input_lost_total", total: c.lost)
        metrics.count("tickbus_archive_input_restarts_total", total: c.restarts)
        metrics.gauge("tickbus_archive_buffered_rows", Double(c.writer.buffered))
        metrics.gauge("tickbus_archive_open_files", Double(c.writer.openFiles))
    }

    private func input(_ outbox: StatusOutbox, _ event: BusEvent) {
        let detail = BusEventFormatter.json(event)
        logger.warning("input: \(detail)")
        var json = JSONObject()
        json.add("event", string: "input")
        json.add("detail", raw: detail)
        outbox.send(.warning, json.text)
    }

    private func report(_ outbox: StatusOutbox, _ event: ArchiveWriter.Event) {
        var json = JSONObject()
        switch event {
        case .writeFailed(let path, let error, let buffered):
            logger.error("cannot write \(path): \(error); \(buffered) rows kept and retried every flush")
            json.add("event", string: "write_failed")
            json.add("path", string: path)
            json.add("error", string: error)
            json.add("buffered", raw: String(buffered))
            outbox.send(.error, json.text)
        case .recovered(let path):
            logger.notice("writing \(path) again")
            json.add("event", string: "write_recovered")
            json.add("path", string: path)
            outbox.send(.info, json.text)
        case .repaired(let path, let bytes, let journal):
            logger.notice("repaired \(path): cut a torn last line of \(bytes) bytes\(journal ? ", replayed its journal" : "")")
            json.add("event", string: "repaired")
            json.add("path", string: path)
            json.add("torn_bytes", raw: String(bytes))
            json.add("journal_replayed", raw: String(journal))
            outbox.send(.warning, json.text)
        case .refused(let symbol, let reason):
            logger.warning("refused symbol: \(reason)")
            json.add("event", string: "refused_symbol")
            json.add("symbol", string: symbol)
            json.add("reason", string: reason)
            outbox.send(.warning, json.text)
        case .dropped(let rows):
            logger.error("dropped the \(rows) oldest buffered rows: files unwritable for too long")
            json.add("event", string: "dropped")
            json.add("rows", raw: String(rows))
            outbox.send(.error, json.text)
        }
    }

    private func report(_ outbox: StatusOutbox, _ missed: ArchiveCheckpoint.Missed) {
        var json = JSONObject()
        let (topic, after, next): (Topic, ArchiveCheckpoint.Position?, ArchiveCheckpoint.Position)
        switch missed {
        case .records(let t, let lost, let a, let n):
            (topic, after, next) = (t, a, n)
            json.add("event", string: "missed_while_down")
            json.add("lost", raw: String(lost))
        case .publisherRestarted(let t, let a, let n):
            (topic, after, next) = (t, a, n)
            json.add("event", string: "publisher_restarted_while_down")
        }
        json.add("topic", string: topic.description)
        json.add("after_sequence", raw: String(after?.sequence ?? 0))
        json.add("next_sequence", raw: String(next.sequence))
        if let after { json.add("from", string: UTCTime.iso8601(nanoseconds: after.tsEvent)) }
        json.add("to", string: UTCTime.iso8601(nanoseconds: next.tsEvent))
        logger.warning("while the archive was down: \(json.text); `tickbus ctl backfill` can fetch that window")
        outbox.send(.warning, json.text)
    }
}
