import Bus
import Foundation
import Logging
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus tap` (and the bar lines of `tickbus demo`): prints what the bus carries, one line
/// per event, until shut down or `count` records.
typealias TapService = ConsumerService<TapConsumer>

extension ConsumerService where Consumer == TapConsumer {
    convenience init(
        configuration: Subscriber.Configuration, context: ZMQContext, count: Int? = nil,
        format: @escaping @Sendable (BusEvent) -> String?
    ) {
        self.init(
            configuration: .init(name: "tap", input: configuration), context: context,
            logger: Logger(label: "tickbus.tap")
        ) { _ in TapConsumer(count: count, format: format) }
    }
}

struct TapConsumer: BusConsumer {
    static let initialCounters: UInt64 = 0
    static let metricsKind = "tap"

    /// The line for an event, or nil to print nothing.
    let format: @Sendable (BusEvent) -> String?
    /// Stop after this many records.
    let count: Int?
    /// Records printed.
    private(set) var counters: UInt64 = 0

    init(count: Int?, format: @escaping @Sendable (BusEvent) -> String?) {
        self.count = count
        self.format = format
    }

    var isFinished: Bool { count.map { counters >= UInt64(clamping: $0) } ?? false }

    mutating func consume(_ record: Record) {
        print(.record(record))
        counters += 1
    }

    mutating func notice(_ event: BusEvent) { print(event) }

    func finish(input c: Subscriber.Counters) {
        FileHandle.standardError.write(Data((
            "tap: \(c.records) records, \(c.gaps) gaps (\(c.lost) lost), \(c.restarts) restarts, \(c.invalidTotal) invalid"
                + (c.recovered > 0 || c.replayFailures > 0 ? ", \(c.recovered) recovered from journals, \(c.replayFailures) replays failed" : "")
                + "\n").utf8))
    }

    private func print(_ event: BusEvent) {
        guard let line = format(event) else { return }
        Swift.print(line)
        fflush(nil)
    }

    static func export(_ counters: UInt64, to metrics: SnapshotMetrics) {}
}
