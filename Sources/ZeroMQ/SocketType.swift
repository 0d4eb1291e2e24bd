import CZeroMQ

/// The socket patterns tickbus uses.
public enum SocketType: Sendable {
    case pub, sub, xpub, xsub, req, rep, dealer, router, push, pull, pair

    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        }
    }
}

/// Flags for send and receive calls.
public struct MessageFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Return ``ZMQError/again`` instead of blocking (`ZMQ_DONTWAIT`).
    public static let dontWait = MessageFlags(rawValue: ZMQ_DONTWAIT)
    /// More frames of the same message follow (`ZMQ_SNDMORE`).
    public static let sendMore = MessageFlags(rawValue: ZMQ_SNDMORE)
}
