import Foundation
import Logging
import Synchronization
import TickBusCore
import ZeroMQ

/// Serves control requests; called on the control server's thread, one request at a time.
public protocol ControlHandler: Sendable {
    /// Adds the reply's fields to `reply` (which already holds `"ok":true`), or throws the error
    /// to send instead.
    func handle(_ request: ControlRequest, reply: inout JSONObject) throws(ControlError)
}

/// The control socket: a REP socket on a thread of its own, so a slow request never stalls the
/// stream. Every request gets exactly one reply, `{"ok":true,…}` or
/// `{"ok":false,"error":{"code":…,"message":…}}`; nothing a client sends stops the server.
public final class ControlServer: Sendable {
    /// Requests served and refused.
    public struct Counters: Sendable, Equatable {
        public var requests: UInt64 = 0
        public var errors: UInt64 = 0
    }

    /// The endpoint actually bound (a real port for `tcp://host:*`).
    public var endpoint: String { thread.opened }
    private let shared = Shared()
    private let thread: SocketThread<String>

    private final class Shared: Sendable {
        let counters = Mutex(Counters())
    }

    /// Binds `endpoint` and starts serving on a new thread. With `security` the socket is a
    /// CURVE server (clients checked by the context's ``ZAPHandler``); with `token`, requests
    /// without `"token"` equal to it are refused with `unauthorized`.
    public init(
        context: ZMQContext, endpoint: String, handler: some ControlHandler, logger: Logger,
        security: CurveSecurity? = nil, token: String? = nil
    ) throws {
        let shared = shared
        thread = try SocketThread(name: "control") {
            let socket = try Socket(context, .rep)
            // Bigger frames are cut off by libzmq instead of being buffered in full.
            try socket.setMaxMessageSize(16 << 20)
            try socket.open(Endpoint(parsing: endpoint, default: .bind), security: security)
            return (socket, (try? socket.lastEndpoint) ?? endpoint)
        } serve: { socket, isStopping in
            ControlServer.serve(socket, handler: handler, token: token.map { Array($0.utf8) }, shared: shared,
                                isStopping: isStopping, logger: logger)
        }
    }

    public var counters: Counters { shared.counters.withLock { $0 } }

    /// Stops serving and closes the socket (within about 100 ms). Idempotent.
    public func stop() { thread.stop() }

    private static func serve(
        _ socket: Socket, handler: some ControlHandler, token: [UInt8]?, shared: Shared, isStopping: () -> Bool,
        logger: Logger
    ) {
        let poller = Poller()
        poller.add(socket)
        while !isStopping() {
            do {
                guard try poller.poll(timeoutMilliseconds: 100) > 0 else { continue }
                guard let frames = try socket.receiveMultipart(flags: .dontWait) else { continue }
                let reply = respond(to: frames, handler: handler, token: token, logger: logger)
                shared.counters.withLock {
                    $0.requests += 1
                    if !reply.ok { $0.errors += 1 }
                }
                _ = try socket.send(reply.text)
            } catch let error as ZMQError where error == .terminated {
                return
            } catch {
                logger.error("control socket failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    static func respond(
        to frames: [[UInt8]], handler: some ControlHandler, token: [UInt8]? = nil, logger: Logger
    ) -> (ok: Bool, text: String) {
        do throws(ControlError) {
            guard frames.count == 1 else {
                throw ControlError(.badRequest, "a request is one frame; got \(frames.count)")
            }
            let request = try ControlRequest(bytes: frames[0])
            if let token, !constantTimeEqual(Array((request.body["token"]?.string ?? "").utf8), token) {
                throw ControlError(.unauthorized, "this control socket needs \"token\" (ctl --control-token-file)")
            }
            var reply = JSONObject()
            reply.add("ok", raw: "true")
            try handler.handle(request, reply: &reply)
            return (true, reply.text)
        } catch {
            logger.debug("control request refused", metadata: ["code": "\(error.code.rawValue)", "message": "\(error.message)"])
            return (false, ControlServer.errorReply(error))
        }
    }

    /// `{"ok":false,"error":{"code":…,"message":…}}`.
    public static func errorReply(_ error: ControlError) -> String {
        var detail = JSONObject()
        detail.add("code", string: error.code.rawValue)
        detail.add("message", string: error.message)
        var reply = JSONObject()
        reply.add("ok", raw: "false")
        reply.add("error", raw: detail.text)
        return reply.text
    }
}

/// Whether `a == b`, in a time that depends on their lengths only, not on where they differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    // The whole length difference counts: any extra byte, even a run of 256 NULs, differs.
    var difference = a.count ^ b.count
    for i in 0..<max(a.count, b.count) {
        difference |= Int((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0))
    }
    return difference == 0
}
