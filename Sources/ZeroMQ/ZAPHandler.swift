import Foundation
import Synchronization

/// A ZAP handler (RFC 27, ZAP 1.0): the REP socket libzmq asks, over
/// `inproc://zeromq.zap.01` of the same context, whether a client may connect to a CURVE server
/// socket. It accepts a CURVE client whose public key is on the allow list (status 200, the key
/// as user id) and refuses anything else (400): an unknown key, another mechanism, another
/// domain. It runs on a thread of its own; start it before binding server sockets.
public final class ZAPHandler: Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"

    /// One answer: the client's address, its key (Z85, nil for other mechanisms), the status.
    public struct Decision: Sendable, Equatable {
        public var address: String
        public var mechanism: String
        public var clientKey: String?
        public var status: String
        public var reason: String
    }

    public struct Counters: Sendable, Equatable {
        public var accepted: UInt64 = 0
        public var denied: UInt64 = 0
    }

    private final class Shared: Sendable {
        let counters = Mutex(Counters())
    }

    private let shared = Shared()
    private let thread: SocketThread<Void>

    /// Binds the ZAP endpoint of `context` and starts answering. `onDecision` is called on the
    /// handler's thread for every request (to log refusals).
    public init(
        context: ZMQContext, allowedClientKeys: Set<String>, domain: String = CurveSecurity.zapDomain,
        onDecision: (@Sendable (Decision) -> Void)? = nil
    ) throws {
        let shared = shared
        thread = try SocketThread(name: "zap") {
            let socket = try Socket(context, .rep)
            try socket.bind(ZAPHandler.endpoint)
            return (socket, ())
        } serve: { socket, isStopping in
            let poller = Poller()
            poller.add(socket)
            while !isStopping() {
                do {
                    guard try poller.poll(timeoutMilliseconds: 100) > 0,
                          let request = try socket.receiveMultipart(flags: .dontWait)
                    else { continue }
                    let (reply, decision) = ZAPHandler.answer(request, allowed: allowedClientKeys, domain: domain)
                    shared.counters.withLock {
                        if decision?.status == "200" { $0.accepted += 1 } else { $0.denied += 1 }
                    }
                    try socket.send(multipart: reply)
                    if let decision { onDecision?(decision) }
                } catch {
                    return  // the context is shutting down
                }
            }
        }
    }

    public var counters: Counters { shared.counters.withLock { $0 } }

    /// Stops answering and unbinds (within about 100 ms). Idempotent.
    public func stop() { thread.stop() }

    /// The reply to one request: version, request id, status code, status text, user id,
    /// metadata. A request too short to carry a request id gets a 500 with an empty id.
    static func answer(_ frames: [[UInt8]], allowed: Set<String>, domain: String) -> ([[UInt8]], Decision?) {
        func reply(_ id: [UInt8], _ status: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), id, Array(status.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return (reply(frames.count > 1 ? frames[1] : [], "500", "not a ZAP 1.0 request"), nil)
        }
        let id = frames[1]
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        var decision = Decision(address: address, mechanism: mechanism, clientKey: nil, status: "400", reason: "")
        if String(decoding: frames[2], as: UTF8.self) != domain {
            decision.reason = "unknown ZAP domain"
        } else if mechanism != "CURVE" {
            decision.reason = "CURVE required"
        } else if frames.count != 7 || frames[6].count != 32 {
            decision.reason = "malformed CURVE credentials"
        } else {
            decision.clientKey = CurveCertificate.z85(frames[6])
            if let key = decision.clientKey, allowed.contains(key) {
                decision.status = "200"
                decision.reason = "OK"
                return (reply(id, "200", "OK", user: key), decision)
            }
            decision.reason = "client key not allowed"
        }
        return (reply(id, decision.status, decision.reason), decision)
    }
}
