import TickBusCore

/// Where a Massive WebSocket stream comes from: a feed host and a market path, or any URL
/// (the simulator: `ws://127.0.0.1:7790/stocks`).
public struct MassiveEndpoint: Sendable, Hashable, CustomStringConvertible {
    public let url: String
    public let market: Market

    /// `wss://{feed host}/{market}` for a named feed (`realtime`, `delayed`, `business`, ...).
    public init(feed: String, market: Market) throws(MassiveConfigurationError) {
        guard let host = MassiveEndpoint.feeds[feed.lowercased()] else { throw .unknownFeed(feed) }
        guard market != .unknown else { throw .unknownMarket(market.name) }
        url = "wss://\(host)/\(market.name)"
        self.market = market
    }

    /// Any `ws://` or `wss://` URL; the market is named separately because the decoder keys on it.
    public init(url: String, market: Market) throws(MassiveConfigurationError) {
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else { throw .invalidURL(url) }
        guard market != .unknown else { throw .unknownMarket(market.name) }
        self.url = url
        self.market = market
    }

    public var description: String { url }

    /// Massive's feed hosts, as the official clients name them.
    public static let feeds: [String: String] = [
        "realtime": "socket.massive.com",
        "delayed": "delayed.massive.com",
        "business": "business.massive.com",
        "launchpad": "launchpad.massive.com",
        "nasdaq": "nasdaqfeed.massive.com",
        "polyfeed": "polyfeed.massive.com",
        "polyfeedplus": "polyfeedplus.massive.com",
        "starterfeed": "starterfeed.massive.com",
        "delayed-business": "delayed-business.massive.com",
        "edgx-business": "edgx-business.massive.com",
        "iex-business": "iex-business.massive.com",
    ]

    /// The market named by a path segment (`stocks`, `options`, ...).
    public static func market(named name: String) throws(MassiveConfigurationError) -> Market {
        guard let market = Market.allCases.first(where: { $0.name == name.lowercased() }), market != .unknown else {
            throw .unknownMarket(name)
        }
        return market
    }
}

/// A configuration that cannot work, said before anything connects.
public enum MassiveConfigurationError: Error, Equatable, CustomStringConvertible {
    case unknownFeed(String)
    case unknownMarket(String)
    case invalidURL(String)
    case missingAPIKey
    case invalidSubscription(String, reason: String)

    public var description: String {
        switch self {
        case .unknownFeed(let f):
            "unknown feed \"\(f)\": use one of \(MassiveEndpoint.feeds.keys.sorted().joined(separator: ", "))"
        case .unknownMarket(let m): "unknown market \"\(m)\": use stocks, options, indices, forex, crypto or futures"
        case .invalidURL(let u): "invalid stream URL \"\(u)\": it must start with ws:// or wss://"
        case .missingAPIKey:
            "MASSIVE_API_KEY not found: set it in the environment or in a .env file (MASSIVE_API_KEY=...), or pass --url to use the simulator"
        case .invalidSubscription(let s, let reason):
            // debugDescription escapes control characters, so a hostile param cannot drive a terminal.
            "invalid subscription \(String(s.prefix(64)).debugDescription): \(reason)"
        }
    }
}
