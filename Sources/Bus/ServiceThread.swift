import Foundation
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Runs `body`, a blocking loop that owns ZeroMQ sockets, on a thread of its own, for the
/// `run()` of a service: graceful shutdown (SIGINT/SIGTERM) and task cancellation set `stop`,
/// which `body` polls; returns or throws when `body` does.
public func runOnOwnThread(
    named name: String, stop: StopFlag, _ body: @escaping @Sendable () throws -> Void
) async throws {
    try await withGracefulShutdownHandler {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { continuation.resume(with: Result { try body() }) }
                thread.name = name
                thread.start()
            }
        } onCancel: { stop.set() }
    } onGracefulShutdown: { stop.set() }
}
