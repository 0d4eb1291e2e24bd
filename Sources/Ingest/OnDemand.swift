import Logging
import Massive
import TickBusCore

/// `--on-demand`: turns the prefixes bus subscribers hold (XPUB subscription messages) into
/// Massive subscriptions. `T.AAPL` (an exact topic) asks for `T.AAPL`, `T.` for `T.*`, with the
/// market's channel codes (crypto trades are `XT`, forex quotes `C`, …). Patterns Massive
/// cannot express (`T.AA*`, everything, built bars, status) ask for nothing upstream.
final class OnDemand: Sendable {
    let subscriptions: Subscriptions
    let market: Market
    let logger: Logger

    init(subscriptions: Subscriptions, market: Market, logger: Logger) {
        self.subscriptions = subscriptions
        self.market = market
        self.logger = logger
    }

    /// Called on the publisher thread with every prefix held.
    func update(_ prefixes: [[UInt8]]) {
        var params: [String] = []
        for prefix in prefixes {
            if let param = OnDemand.param(for: prefix, market: market), !params.contains(param) { params.append(param) }
        }
        params.sort()
        logger.info("on-demand subscriptions", metadata: ["params": "\(params.joined(separator: ","))"])
        subscriptions.setDemanded(params)
    }

    /// The Massive param for one bus subscription prefix, if there is one.
    static func param(for prefix: [UInt8], market: Market) -> String? {
        let text = String(decoding: prefix, as: UTF8.self)
        guard let dot = text.firstIndex(of: ".") else { return nil }
        guard let kind = TopicKind(code: text[..<dot]), let channel = MassiveChannel.publishing(kind, in: market)?.code else { return nil }
        let rest = text[text.index(after: dot)...]
        if rest.isEmpty { return channel + ".*" }
        guard rest.hasSuffix(" "), rest.count > 1 else { return nil }
        return channel + "." + rest.dropLast()
    }
}
