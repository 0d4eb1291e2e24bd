import TickBusCore

/// A channel of Massive's WebSocket API in one market: the one table of channel codes (decoder,
/// subscription checks, on-demand subscriptions, gap repair read it; the simulator keeps its
/// own as an independent oracle).
public struct MassiveChannel: Hashable, Sendable {
    /// The code: the `ev` of its events and the `EV` of `EV.TICKER` subscriptions.
    public let code: String
    /// The bus topic kind its events are published as; nil for channels that are counted but
    /// not published (`LULD`, `NOI`, `FMV`, `LV`, `XL2`).
    public let kind: TopicKind?
    /// The event field that holds the ticker.
    let symbol: EventField

    private init(_ code: String, _ kind: TopicKind?, _ symbol: EventField = .sym) {
        self.code = code
        self.kind = kind
        self.symbol = symbol
    }

    /// The channels a market's WebSocket clusters serve (LaunchPad's `AM` and `LV` included),
    /// in the order of Massive's docs.
    public static func all(_ market: Market) -> [MassiveChannel] {
        switch market {
        case .stocks:
            [.init("T", .trade), .init("Q", .quote), .init("A", .secondBar), .init("AM", .minuteBar),
             .init("LULD", nil), .init("NOI", nil), .init("FMV", nil), .init("LV", nil)]
        case .options:
            [.init("T", .trade), .init("Q", .quote), .init("A", .secondBar), .init("AM", .minuteBar),
             .init("FMV", nil), .init("LV", nil)]
        case .indices:
            [.init("V", .trade, .T), .init("A", .secondBar), .init("AM", .minuteBar)]
        case .forex:
            [.init("C", .quote, .p), .init("CAS", .secondBar, .pair), .init("CA", .minuteBar, .pair),
             .init("AM", .minuteBar), .init("FMV", nil), .init("LV", nil)]
        case .crypto:
            [.init("XT", .trade, .pair), .init("XQ", .quote, .pair), .init("XAS", .secondBar, .pair),
             .init("XA", .minuteBar, .pair), .init("AM", .minuteBar), .init("XL2", nil), .init("FMV", nil), .init("LV", nil)]
        case .futures:
            [.init("T", .trade), .init("Q", .quote), .init("A", .secondBar), .init("AM", .minuteBar)]
        case .unknown:
            []
        }
    }

    /// The channel of `market` with this code, if the market has one.
    public static func named(_ code: some StringProtocol, in market: Market) -> MassiveChannel? {
        all(market).first { $0.code == code }
    }

    /// The channel whose events `market` publishes as `kind`, if there is one (the first in
    /// ``all(_:)``: forex minute bars are `CA`, not LaunchPad's `AM`).
    public static func publishing(_ kind: TopicKind, in market: Market) -> MassiveChannel? {
        all(market).first { $0.kind == kind }
    }
}
