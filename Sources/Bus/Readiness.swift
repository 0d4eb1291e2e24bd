import Synchronization

/// A value a service makes known once it is ready (the endpoints it bound), for whoever waits
/// on it: ``value()`` suspends until ``succeed(_:)`` or ``fail(_:)``, or the waiting task is
/// cancelled. Later calls of either change nothing.
public final class Readiness<Value: Sendable>: Sendable {
    private struct State {
        var outcome: Result<Value, any Error>?
        var waiters: [UInt64: CheckedContinuation<Value, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func succeed(_ value: Value) { settle(.success(value)) }

    public func fail(_ error: any Error) { settle(.failure(error)) }

    /// The value, as soon as there is one; throws the failure, or `CancellationError`.
    public func value() async throws -> Value {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                state.withLock { s in
                    if let outcome = s.outcome {
                        continuation.resume(with: outcome)
                    } else if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        s.waiters[id] = continuation
                    }
                }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// The value if it is known, without waiting.
    public var current: Value? { state.withLock { try? $0.outcome?.get() } }

    private func settle(_ outcome: Result<Value, any Error>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>] in
            guard s.outcome == nil else { return [] }
            s.outcome = outcome
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
