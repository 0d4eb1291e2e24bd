import Bus
import Foundation
import Synchronization
import TickBusCore
import ZeroMQ

/// A bus subscriber on a thread of its own that keeps every event, for tests.
final class BusCollector: Sendable {
    private let events = Mutex<[BusEvent]>([])
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(context: ZMQContext, endpoint: String, filters: [String] = []) throws {
        let configuration = Subscriber.Configuration(endpoints: [endpoint], filters: try filters.map(TopicFilter.init))
        let ready = DispatchSemaphore(value: 0)
        Thread { [self] in
            defer { done.signal() }
            guard let subscriber = try? Subscriber(context: context, configuration: configuration) else {
                ready.signal()
                return
            }
            ready.signal()
            while !stopping.load(ordering: .relaxed) {
                guard let event = try? subscriber.next(timeout: .milliseconds(50)) else { continue }
                events.withLock { $0.append(event) }
            }
        }.start()
        ready.wait()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        done.wait()
    }

    var all: [BusEvent] { events.withLock { $0 } }

    var records: [Record] {
        all.compactMap { if case .record(let r) = $0 { r } else { nil } }
    }

    /// The JSON bodies of status records.
    var statuses: [String] {
        records.compactMap { if case .status(let s) = $0 { s.json } else { nil } }
    }

    /// Waits until `condition` holds for the collected events, up to `timeout` seconds.
    @discardableResult
    func wait(timeout: Double, until condition: ([BusEvent]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(all) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(all)
    }
}
