import Archive
import Bus
import Logging
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus archive`: records from the bus into per-symbol monthly CSV files (docs/archive.md).
/// Batches reach the files every `flushInterval` and at shutdown. Write failures, recoveries,
/// repairs, refused symbols and what was missed while down go out on `S.<name>` and in the
/// log, and (by the ``ConsumerService``) gaps and publisher restarts on the input.
public typealias ArchiveService = ConsumerService<ArchiveConsumer>

extension ConsumerService where Consumer == ArchiveConsumer {
    public convenience init(configuration: ArchiveConsumer.Configuration, context: ZMQContext, logger: Logger) {
        self.init(
            configuration: .init(
                name: configuration.name,
                input: .init(endpoints: configuration.input, filters: configuration.filters, security: configuration.inputSecurity),
                output: configuration.output, outputSecurity: configuration.outputSecurity, tick: configuration.flushInterval),
            context: context, logger: logger
        ) { context in ArchiveConsumer(configuration: configuration, context: context) }
    }
}

/// The ``ArchiveWriter`` on the bus, with its restart checkpoint.
public struct ArchiveConsumer: BusConsumer {
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

        public init(
            input: [String] = [DefaultEndpoint.bus, DefaultEndpoint.bars],
            filters: [TopicFilter] = ArchiveConsumer.defaultFilters, output: [String] = [DefaultEndpoint.archiveStatus],
            writer: ArchiveWriter.Configuration = .init(), flushInterval: Duration = .seconds(1), name: String = "archive",
            inputSecurity: CurveSecurity? = nil, outputSecurity: CurveSecurity? = nil
        ) {
            self.inputSecurity = inputSecurity
            self.outputSecurity = outputSecurity
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
    }

    public static let initialCounters = Counters()
    public static let metricsKind = "archive"

    private enum Event: String, StatusEventName {
        case writeFailed = "write_failed"
        case writeRecovered = "write_recovered"
        case repaired
        case refusedSymbol = "refused_symbol"
        case dropped
        case missedWhileDown = "missed_while_down"
        case publisherRestartedWhileDown = "publisher_restarted_while_down"
    }

    private let context: ConsumerContext
    private let writer: ArchiveWriter
    private var checkpoint: ArchiveCheckpoint
    public private(set) var counters = Counters()

    init(configuration: Configuration, context: ConsumerContext) {
        self.context = context
        writer = ArchiveWriter(configuration: configuration.writer)
        checkpoint = ArchiveCheckpoint(path: configuration.writer.directory + "/.archive-checkpoint")
    }

    public mutating func consume(_ record: Record) {
        guard let file = writer.add(record) else { return }
        counters.records += 1
        if let missed = checkpoint.note(record, file: file) {
            if case .records(_, let lost, _, _) = missed { counters.missedWhileDown += lost }
            report(missed)
        }
    }

    /// Every flush interval: batches to the files, then the checkpoint.
    public mutating func tick(now: Int64) { flush() }

    public mutating func finish(input: Subscriber.Counters) {
        flush()
        writer.close()
    }

    private mutating func flush() {
        let context = context
        writer.flush { event in Self.report(event, context) }
        checkpoint.advance(written: writer.isWritten)
        do { try checkpoint.save() } catch { context.logger.error("cannot save the checkpoint: \(error)") }
        counters.writer = writer.counters
    }

    public static func export(_ c: Counters, to metrics: SnapshotMetrics) {
        metrics.count("tickbus_archive_records_total", total: c.records)
        metrics.count("tickbus_archive_rows_total", total: c.writer.rows)
        metrics.count("tickbus_archive_duplicates_total", total: c.writer.duplicates)
        metrics.count("tickbus_archive_refused_total", total: c.writer.refused)
        metrics.count("tickbus_archive_late_bars_total", total: c.writer.late)
        metrics.count("tickbus_archive_dropped_total", total: c.writer.dropped)
        metrics.count("tickbus_archive_write_errors_total", total: c.writer.writeErrors)
        metrics.count("tickbus_archive_repairs_total", total: c.writer.repairs)
        metrics.count("tickbus_archive_missed_while_down_total", total: c.missedWhileDown)
        metrics.gauge("tickbus_archive_buffered_rows", Double(c.writer.buffered))
        metrics.gauge("tickbus_archive_open_files", Double(c.writer.openFiles))
    }

    private static func report(_ event: ArchiveWriter.Event, _ context: ConsumerContext) {
        let logger = context.logger
        switch event {
        case .writeFailed(let path, let error, let buffered):
            logger.error("cannot write \(path): \(error); \(buffered) rows kept and retried every flush")
            context.report(.error, Event.writeFailed) {
                $0.add("path", string: path)
                $0.add("error", string: error)
                $0.add("buffered", raw: String(buffered))
            }
        case .recovered(let path):
            logger.notice("writing \(path) again")
            context.report(.info, Event.writeRecovered) { $0.add("path", string: path) }
        case .repaired(let path, let bytes, let journal):
            logger.notice("repaired \(path): cut a torn last line of \(bytes) bytes\(journal ? ", replayed its journal" : "")")
            context.report(.warning, Event.repaired) {
                $0.add("path", string: path)
                $0.add("torn_bytes", raw: String(bytes))
                $0.add("journal_replayed", raw: String(journal))
            }
        case .refused(let symbol, let reason):
            logger.warning("refused symbol: \(reason)")
            context.report(.warning, Event.refusedSymbol) {
                $0.add("symbol", string: symbol)
                $0.add("reason", string: reason)
            }
        case .dropped(let rows):
            logger.error("dropped the \(rows) oldest buffered rows: files unwritable for too long")
            context.report(.error, Event.dropped) { $0.add("rows", raw: String(rows)) }
        }
    }

    private func report(_ missed: ArchiveCheckpoint.Missed) {
        let event: Event, lost: UInt64?
        let (topic, after, next): (Topic, ArchiveCheckpoint.Position?, ArchiveCheckpoint.Position)
        switch missed {
        case .records(let t, let l, let a, let n):
            (event, lost, topic, after, next) = (.missedWhileDown, l, t, a, n)
        case .publisherRestarted(let t, let a, let n):
            (event, lost, topic, after, next) = (.publisherRestartedWhileDown, nil, t, a, n)
        }
        var text = ""
        context.report(.warning, event) { json in
            if let lost { json.add("lost", raw: String(lost)) }
            json.add("topic", string: topic.description)
            json.add("after_sequence", raw: String(after?.sequence ?? 0))
            json.add("next_sequence", raw: String(next.sequence))
            if let after { json.add("from", string: UTCTime.iso8601(nanoseconds: after.tsEvent)) }
            json.add("to", string: UTCTime.iso8601(nanoseconds: next.tsEvent))
            text = json.text
        }
        context.logger.warning("while the archive was down: \(text); `tickbus ctl backfill` can fetch that window")
    }
}
