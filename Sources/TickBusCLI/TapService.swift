import Bus
import Foundation
import ServiceLifecycle
import Synchronization
import TickBusCore
import ZeroMQ

/// Runs a bus subscriber on its own thread and prints what it sees until shut down
/// (`tickbus tap`, and the bar lines of `tickbus demo`).
final class TapService: Service, Sendable {
    let configuration: Subscriber.Configuration
    /// The line for an event, or nil to print nothing.
    let format: @Sendable (BusEvent) -> String?
    /// Stop after this many records.
    let count: Int?
    private let stopping = StopFlag()
    private let context: ZMQContext?

    init(
        configuration: Subscriber.Configuration, context: ZMQContext? = nil, count: Int? = nil,
        format: @escaping @Sendable (BusEvent) -> String?
    ) {
        self.configuration = configuration
        self.context = context
        self.format = format
        self.count = count
    }

    func run() async throws {
        let context = try self.context ?? ZMQContext()
        try await runOnOwnThread(named: "tap", stop: stopping) { [self] in try printLoop(context) }
    }

    private func printLoop(_ context: ZMQContext) throws {
        let subscriber = try Subscriber(context: context, configuration: configuration)
        var records = 0
        while !stopping.isSet {
            guard let event = try subscriber.next(timeout: .milliseconds(200)) else { continue }
            if let line = format(event) {
                print(line)
                fflush(nil)
            }
            if case .record = event {
                records += 1
                if let count, records >= count { break }
            }
        }
        let c = subscriber.counters
        FileHandle.standardError.write(Data(
            "tap: \(c.records) records, \(c.gaps) gaps (\(c.lost) lost), \(c.restarts) restarts, \(c.invalidTotal) invalid\n".utf8))
    }
}
