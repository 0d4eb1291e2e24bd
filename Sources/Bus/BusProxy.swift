import Synchronization
import TickBusCore
import ZeroMQ

/// `tickbus proxy`: libzmq's own XSUB/XPUB forwarder, so publishers on several hosts and many
/// subscribers meet at one address. Records flow from the frontend (publishers) to the backend
/// (subscribers) untouched, one frame each, so sequence numbers, epochs and heartbeats pass
/// through and subscribers still detect gaps; subscriptions flow the other way, so a publisher
/// still sees which topics are wanted.
///
/// ``run(ready:)`` owns the sockets on the calling thread until ``terminate()`` is called from
/// any other thread (through the steerable proxy's control socket).
public final class BusProxy: Sendable {
    public struct Configuration: Sendable {
        /// Where publishers are: connected by default (`tcp://10.0.0.5:7700`), or bound for
        /// publishers that connect (`@tcp://10.0.0.9:7710`).
        public var frontend: [Endpoint]
        /// Where subscribers come: bound by default, or connected (`>tcp://…`).
        public var backend: [Endpoint]
        /// Messages queued per peer on each side before libzmq drops (as a publisher does).
        public var highWaterMark: Int32
        /// CURVE on the frontend: a CURVE client of the publishers, or a server when bound.
        public var frontendSecurity: CurveSecurity?
        /// CURVE on the backend, where subscribers are clients.
        public var backendSecurity: CurveSecurity?
        /// Wait for the slowest subscriber instead of dropping at its high-water mark
        /// (`XPUB_NODROP`). For benchmarks only: a live proxy must never wait.
        public var lossless: Bool

        public init(
            frontend: [Endpoint], backend: [Endpoint], highWaterMark: Int32 = 100_000,
            frontendSecurity: CurveSecurity? = nil, backendSecurity: CurveSecurity? = nil, lossless: Bool = false
        ) {
            self.lossless = lossless
            self.frontend = frontend
            self.backend = backend
            self.highWaterMark = highWaterMark
            self.frontendSecurity = frontendSecurity
            self.backendSecurity = backendSecurity
        }
    }

    public let configuration: Configuration
    private let context: ZMQContext
    private let controlEndpoint: String
    private let controller: Mutex<Socket>

    public init(context: ZMQContext, configuration: Configuration) throws {
        self.context = context
        self.configuration = configuration
        var random = SystemRandomNumberGenerator()
        controlEndpoint = "inproc://tickbus-proxy-control-\(UInt64.random(in: 0...UInt64.max, using: &random))"
        let controller = try Socket(context, .pair)
        try controller.connect(controlEndpoint)
        self.controller = Mutex(controller)
    }

    /// Opens both sides, calls `ready` with the endpoints (real ports for `tcp://host:*`) and
    /// forwards until ``terminate()``. Throws when an endpoint cannot be opened, or
    /// ``ZMQError/terminated`` when the context shuts down.
    public func run(ready: ([Endpoint], [Endpoint]) -> Void = { _, _ in }) throws {
        let frontend = try Socket(context, .xsub)
        let backend = try Socket(context, .xpub)
        let control = try Socket(context, .pair)
        try control.bind(controlEndpoint)
        try frontend.setReceiveHighWaterMark(configuration.highWaterMark)
        try frontend.setSendHighWaterMark(configuration.highWaterMark)
        try backend.setSendHighWaterMark(configuration.highWaterMark)
        try backend.setReceiveHighWaterMark(configuration.highWaterMark)
        try backend.setXPubNoDrop(configuration.lossless)
        let frontendOpened = try Self.open(frontend, configuration.frontend, configuration.frontendSecurity)
        let backendOpened = try Self.open(backend, configuration.backend, configuration.backendSecurity)
        ready(frontendOpened, backendOpened)
        try Proxy.run(frontend: frontend, backend: backend, control: control)
    }

    private static func open(_ socket: Socket, _ endpoints: [Endpoint], _ security: CurveSecurity?) throws -> [Endpoint] {
        try endpoints.map { endpoint in
            do {
                try socket.open(endpoint, security: security)
            } catch let error as ZMQError {
                throw endpoint.action == .bind
                    ? BusError.bindFailed(endpoint.address, error.message) : BusError.connectFailed(endpoint.address, error.message)
            }
            return endpoint.action == .bind ? Endpoint(.bind, try socket.lastEndpoint) : endpoint
        }
    }

    /// Stops ``run(ready:)`` (also when called before it starts). Idempotent.
    public func terminate() {
        controller.withLock { _ = try? $0.send("TERMINATE", flags: .dontWait) }
    }

    /// Messages and bytes forwarded so far, or nil if the proxy does not answer in time (not
    /// running).
    public func statistics(timeout: Duration = .seconds(1)) -> ProxyStatistics? {
        controller.withLock { socket in
            // A reply that came after an earlier call gave up.
            while ((try? socket.receiveMultipart(flags: .dontWait)) ?? nil) != nil {}
            guard (try? socket.send("STATISTICS", flags: .dontWait)) == true else { return nil }
            let poller = Poller()
            poller.add(socket)
            guard (try? poller.poll(timeoutMilliseconds: Int(timeout.nanoseconds / 1_000_000))) ?? 0 > 0,
                  let frames = try? socket.receiveMultipart(flags: .dontWait)
            else { return nil }
            return ProxyStatistics(frames: frames)
        }
    }
}
