import Foundation
import Journal
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// Runs a ``Publisher`` on a thread of its own, so any thread can publish without touching the
/// socket, and heartbeats go out every second even when no records flow.
///
/// ``submit(_:)`` appends to a bounded in-memory queue and returns at once; the publisher thread
/// drains the queue in batches (swapping buffers, so the steady state allocates nothing). When the
/// queue is full the record is refused and counted, never waited for.
public final class PublisherService: Sendable {
    /// The publisher's epoch.
    public let epoch: UInt32
    /// The endpoints actually bound.
    public let endpoints: [String]
    private let shared: Shared

    /// The last record of each topic, when the service keeps them.
    public let lastValues: LastValueCache?
    /// The journal of what it publishes, when the configuration asks for one.
    public let journal: JournalWriter?
    /// Serves the journal to replay clients, when the configuration names replay endpoints.
    public let replay: ReplayServer?
    /// Why replays are not served although the configuration asked (optional endpoints only).
    public let replayFailure: String?

    /// Binds the publisher and starts its thread. `queueCapacity` bounds the records waiting;
    /// `lastValues` keeps the last record of every topic published; `onSubscriptionChange` is
    /// called on the publisher thread with every prefix subscribers hold, each time that changes
    /// (it must return quickly).
    public init(
        context: ZMQContext, configuration: Publisher.Configuration, queueCapacity: Int = 1_000_000,
        lastValues: LastValueCache? = nil, onSubscriptionChange: (@Sendable ([[UInt8]]) -> Void)? = nil
    ) throws {
        let shared = try Shared(capacity: queueCapacity, lastValues: lastValues, onSubscriptionChange: onSubscriptionChange)
        self.lastValues = lastValues
        let ready = Mutex<Result<(UInt32, [String], JournalWriter?), any Error>?>(nil)
        let started = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { shared.finished.signal() }
            let publisher: Publisher
            do {
                publisher = try Publisher(context: context, configuration: configuration)
                ready.withLock { $0 = .success((publisher.epoch, publisher.endpoints, publisher.journal)) }
                started.signal()
            } catch {
                ready.withLock { $0 = .failure(error) }
                shared.state.withLock { $0.stopping = true }
                started.signal()
                return
            }
            shared.run(publisher)
            publisher.closeJournal()
        }
        thread.name = "bus-publisher"
        thread.start()
        started.wait()
        self.shared = shared
        (epoch, endpoints, journal) = try ready.withLock { $0! }.get()
        let asked = configuration.replayEndpoints
        do {
            replay = try journal.flatMap { journal in
                asked.endpoints.isEmpty ? nil : try ReplayServer(context: context, configuration: .init(
                    endpoints: asked.endpoints, directory: journal.configuration.directory, security: configuration.security))
            }
            replayFailure = nil
        } catch where !asked.required {
            replay = nil
            replayFailure = "\(error)"
        } catch {
            shared.stop()
            throw error
        }
    }

    deinit { stop() }

    /// Queues `record` for publishing. Returns `false` if the queue is full (counted as dropped).
    @discardableResult
    public func submit(_ record: Record) -> Bool {
        shared.submit(record)
    }

    /// Queues several records under one lock. Returns how many were accepted; the rest (when
    /// the queue is full) are counted as dropped.
    @discardableResult
    public func submit(contentsOf records: [Record]) -> Int {
        shared.submit(contentsOf: records)
    }

    /// Queues all of `records` if the queue has room for all of them, else none (and counts
    /// nothing as dropped): for producers that can wait, such as backfills.
    public func offer(contentsOf records: [Record]) -> Bool {
        shared.offer(contentsOf: records)
    }

    /// Records waiting in the queue.
    public var queued: Int { shared.state.withLock { $0.pending.count } }

    /// The publisher's counters, with records refused by a full queue counted as dropped.
    public var counters: Publisher.Counters {
        shared.state.withLock { s in
            var c = s.counters
            c.dropped += s.rejected
            return c
        }
    }

    /// Prefixes currently subscribed by at least one subscriber.
    public var subscriptions: [[UInt8]] { shared.state.withLock { $0.subscriptions } }

    /// Suspends until the publisher thread ends on an error (its socket failed: nothing is
    /// published, no heartbeat goes out, submits are refused) and throws
    /// ``BusError/publisherFailed(_:)``; returns only when the calling task is cancelled.
    public func failure() async throws {
        let id = UInt64.random(in: 0...UInt64.max)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                shared.state.withLock { s in
                    if let failure = s.failure {
                        continuation.resume(throwing: failure)
                    } else if Task.isCancelled {
                        continuation.resume()
                    } else {
                        s.failureWaiters[id] = continuation
                    }
                }
            }
        } onCancel: {
            shared.state.withLock { $0.failureWaiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Runs `body` until it returns, or throws if the publisher fails first (see ``failure()``);
    /// `body` is then cancelled. A service wraps its work in it so that a dead publisher ends
    /// the process with an error instead of leaving it up and silent.
    public func watching(_ body: @escaping @Sendable () async throws -> Void) async throws {
        // Each child says whether it is `body`: only its end (or a failure) ends the wait; a
        // cancelled `failure()` returns, and `body`'s own outcome, error or not, must still win.
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask { try await self.failure(); return false }
            defer { group.cancelAll() }
            for try await isBody in group where isBody { return }
        }
    }

    /// Publishes what is queued, stops the thread and closes the socket. Idempotent.
    public func stop() {
        replay?.stop()
        shared.stop()
    }
}

/// The state shared by submitting threads and the publisher thread.
private final class Shared: Sendable {
    struct State {
        var pending: [Record] = []
        var rejected: UInt64 = 0
        var sleeping = false
        var stopping = false
        var counters = Publisher.Counters()
        var subscriptions: [[UInt8]] = []
        var failure: BusError?
        var failureWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    }

    let state = Mutex(State())
    let finished = DispatchSemaphore(value: 0)
    let capacity: Int
    let lastValues: LastValueCache?
    let onSubscriptionChange: (@Sendable ([[UInt8]]) -> Void)?
    /// A pipe whose read end the publisher thread polls beside its socket.
    let wakeRead: Int32
    let wakeWrite: Int32

    init(capacity: Int, lastValues: LastValueCache?, onSubscriptionChange: (@Sendable ([[UInt8]]) -> Void)?) throws {
        self.lastValues = lastValues
        self.onSubscriptionChange = onSubscriptionChange
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ZMQError(code: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.capacity = capacity
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    func submit(_ record: Record) -> Bool {
        let (accepted, mustWake) = state.withLock { s -> (Bool, Bool) in
            guard s.pending.count < capacity, !s.stopping else {
                s.rejected += 1
                return (false, false)
            }
            s.pending.append(record)
            defer { s.sleeping = false }
            return (true, s.sleeping)
        }
        if mustWake { wake() }
        return accepted
    }

    func submit(contentsOf records: [Record]) -> Int {
        let (accepted, mustWake) = state.withLock { s -> (Int, Bool) in
            let room = s.stopping ? 0 : max(0, capacity - s.pending.count)
            let accepted = min(room, records.count)
            s.pending.append(contentsOf: records.prefix(accepted))
            s.rejected += UInt64(records.count - accepted)
            defer { if accepted > 0 { s.sleeping = false } }
            return (accepted, accepted > 0 && s.sleeping)
        }
        if mustWake { wake() }
        return accepted
    }

    func offer(contentsOf records: [Record]) -> Bool {
        let (accepted, mustWake) = state.withLock { s -> (Bool, Bool) in
            guard !s.stopping, s.pending.count + records.count <= capacity else { return (false, false) }
            s.pending.append(contentsOf: records)
            defer { s.sleeping = false }
            return (true, s.sleeping)
        }
        if mustWake { wake() }
        return accepted
    }

    /// Ends the publisher thread after it has published what is queued. Idempotent.
    func stop() {
        let alreadyStopping = state.withLock { s -> Bool in
            defer { s.stopping = true }
            return s.stopping
        }
        guard !alreadyStopping else { return }
        wake()
        finished.wait()
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func drainWake() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Publishes a batch, storing each record in the last-value cache (one lock per batch).
    private func publish(_ batch: [Record], _ publisher: Publisher) throws {
        guard let lastValues else {
            for record in batch { try publisher.publish(record) }
            return
        }
        try lastValues.storing { store throws in
            for record in batch {
                var stamped = record
                stamped.header.epoch = publisher.epoch
                stamped.header.sequence = try publisher.publish(record)
                store(Topic(of: stamped), stamped)
            }
        }
    }

    /// The publisher thread's loop: publish what is queued, serve subscriptions and heartbeats,
    /// sleep in `zmq_poll` until woken, a subscription arrives or a heartbeat is due.
    func run(_ publisher: Publisher) {
        let poller = Poller()
        poller.add(publisher.pollable)
        poller.add(fileDescriptor: wakeRead)
        publisher.onSubscriptionChange = { [unowned publisher, self] _, _ in
            let current = Array(publisher.subscriptions)
            self.state.withLock { $0.subscriptions = current }
            self.onSubscriptionChange?(current)
        }
        var batch: [Record] = []
        while true {
            let stopping = state.withLock { s -> Bool in
                swap(&s.pending, &batch)
                s.sleeping = batch.isEmpty && !s.stopping
                return s.stopping
            }
            do {
                try publish(batch, publisher)
                batch.removeAll(keepingCapacity: true)
                try publisher.service()
            } catch {
                return fail(error, publisher)
            }
            let counters = publisher.counters
            let sleeping = state.withLock { s -> Bool in
                s.counters = counters
                return s.sleeping
            }
            if stopping { return }
            if sleeping {
                let journalDue = publisher.flushJournal() ?? Int.max
                do {
                    try poller.poll(timeoutMilliseconds: max(1, min(journalDue, publisher.millisecondsUntilHeartbeat)))
                } catch {
                    return fail(error, publisher)
                }
                drainWake()
            }
        }
    }

    /// Ends the thread on a socket error: refuses further submits and wakes ``failure()``.
    private func fail(_ error: any Error, _ publisher: Publisher) {
        let failure = BusError.publisherFailed("\(publisher.name): \(error)")
        let waiters = state.withLock { s in
            s.failure = failure
            s.stopping = true
            defer { s.failureWaiters = [:] }
            return s.failureWaiters.values
        }
        for waiter in waiters { waiter.resume(throwing: failure) }
    }
}

extension PublisherService {
    /// Exports the publisher's counters through swift-metrics: `tickbus_bus_published_total`,
    /// `_dropped_total`, `_heartbeats_total` and the `tickbus_bus_queued` gauge.
    public func export(to metrics: SnapshotMetrics) {
        let c = counters
        metrics.count("tickbus_bus_published_total", total: c.published)
        metrics.count("tickbus_bus_dropped_total", total: c.dropped)
        metrics.count("tickbus_bus_heartbeats_total", total: c.heartbeats)
        metrics.gauge("tickbus_bus_queued", Double(queued))
        if let journal { journal.export(to: metrics) }
        if let replay { replay.export(to: metrics) }
    }
}
