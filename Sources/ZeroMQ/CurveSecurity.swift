import CZeroMQ

/// How a process secures its sockets with CURVE (RFC 26): its own key pair, used as the server
/// key on the sockets it binds and as the client identity on those it connects, and the public
/// key of the servers it connects to. Bound sockets authenticate clients through the ZAP domain
/// ``zapDomain``, which a ``ZAPHandler`` on the same context serves.
public struct CurveSecurity: Sendable, Equatable {
    /// The ZAP domain of every CURVE server socket tickbus binds.
    public static let zapDomain = "tickbus"

    public var keyPair: CurveKeyPair
    /// The public key (Z85) of the servers this process connects to; nil if it connects nowhere.
    public var serverKey: String?

    public init(keyPair: CurveKeyPair, serverKey: String? = nil) {
        self.keyPair = keyPair
        self.serverKey = serverKey
    }
}

/// A connect under CURVE without the server's public key.
public struct MissingServerKey: Error, CustomStringConvertible {
    public let endpoint: String
    public var description: String {
        "connecting to \(endpoint) under CURVE needs the server's public key (--curve-server-key)"
    }
}

extension Socket {
    /// Binds or connects `endpoint`. With `security`, a bind makes this end the CURVE server
    /// (clients checked by ZAP) and a connect makes it a CURVE client of `security.serverKey`.
    /// libzmq copies the options at each bind and connect, so one socket may do both.
    public func open(_ endpoint: Endpoint, security: CurveSecurity?) throws {
        if let security {
            switch endpoint.action {
            case .bind:
                try makeCurveServer(secretKey: security.keyPair.secretKey)
                try setZAPDomain(CurveSecurity.zapDomain)
            case .connect:
                guard let serverKey = security.serverKey else { throw MissingServerKey(endpoint: endpoint.address) }
                try setOption(ZMQ_CURVE_SERVER, 0)
                try makeCurveClient(serverKey: serverKey, keyPair: security.keyPair)
            }
        }
        switch endpoint.action {
        case .bind: try bind(endpoint.address)
        case .connect: try connect(endpoint.address)
        }
    }
}

/// Binding where other hosts can connect without CURVE, and without `--insecure`.
public struct InsecureBindRefused: Error, CustomStringConvertible {
    public let endpoints: [String]

    public var description: String {
        "refusing to bind \(endpoints.joined(separator: ", ")) without CURVE: other hosts could read and inject records. "
            + "Give --curve-secret-key and --curve-allow (tickbus keygen; docs/security.md), bind a loopback address "
            + "(tcp://127.0.0.1:…), or pass --insecure to accept an unauthenticated, unencrypted socket"
    }

    /// Throws when an endpoint that binds is reachable from other hosts while `secured` and
    /// `insecure` are both false. Connects are the other side's business.
    public static func check(_ endpoints: [Endpoint], secured: Bool, insecure: Bool) throws(InsecureBindRefused) {
        guard !secured, !insecure else { return }
        let exposed = endpoints.filter { $0.action == .bind && !$0.isLocal }.map(\.address)
        if !exposed.isEmpty { throw InsecureBindRefused(endpoints: exposed) }
    }
}
