import Massive
import Testing
import TickBusCore

/// Massive's `EV.TICKER` for each market's cluster: what is accepted is what Massive serves;
/// the rest (unknown channels, other markets' channels, bus topics, control bytes) is refused
/// with a reason that prints safely.
struct SubscriptionSyntaxTests {
    @Test(arguments: [
        (Market.stocks, "T.AAPL"), (.stocks, "Q.BRK.B"), (.stocks, "A.*"), (.stocks, "AM.SPY"), (.stocks, "LULD.*"),
        (.stocks, "FMV.AAPL"), (.options, "T.O:SPY251219C00650000"), (.options, "Q.*"), (.indices, "V.I:SPX"),
        (.indices, "AM.I:NDX"), (.forex, "C.EUR/USD"), (.forex, "CA.USD/CAD"), (.forex, "FMV.C:EURUSD"),
        (.crypto, "XT.BTC-USD"), (.crypto, "XAS.*"), (.crypto, "FMV.X:BTC-USD"), (.futures, "T.ESZ5"),
    ])
    func accepted(_ market: Market, _ param: String) throws {
        #expect(try MassiveSubscription.validate(param, market: market) == param)
    }

    @Test(arguments: [
        "T.\u{1B}[2J", "T.A\u{7}", "T.A\u{0}", "T.A\u{7F}", "T.AA*", "T.*.*", "B1m.AAPL", "S.ingest", "ZZ.AAPL",
        "XT.BTC-USD", "t.aapl", "T.aapl", "T.", ".AAPL", "T", "T..", "T..B", "T.O:SPY", "T.ABCDEFGHIJKLMNOPQRSTUVWXY",
        "T.A B", "T.A\"B",
    ])
    func refusedOnStocks(_ param: String) {
        #expect(throws: MassiveConfigurationError.self) { try MassiveSubscription.validate(param, market: .stocks) }
        do {
            _ = try MassiveSubscription.validate(param, market: .stocks)
        } catch {
            let text = error.description
            #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(text.debugDescription)")
        }
    }

    @Test func marketsKeepTheirOwnForms() {
        #expect(throws: MassiveConfigurationError.self) { try MassiveSubscription.validate("T.SPY", market: .options) }
        #expect(throws: MassiveConfigurationError.self) { try MassiveSubscription.validate("V.SPX", market: .indices) }
        #expect(throws: MassiveConfigurationError.self) { try MassiveSubscription.validate("T.AAPL", market: .crypto) }
        #expect(throws: MassiveConfigurationError.self) { try MassiveSubscription.validate("Q.EUR/USD", market: .forex) }
    }

    @Test func listsSplitTrimAndDeduplicate() throws {
        #expect(try MassiveSubscription.parse(["T.AAPL, Q.MSFT", "T.AAPL,,A.*", "", ",", "Q.SPY\nQ.QQQ\r\n"], market: .stocks)
            == ["T.AAPL", "Q.MSFT", "A.*", "Q.SPY", "Q.QQQ"])
        #expect(throws: MassiveConfigurationError.self) { try MassiveSubscription.parse(["T.AAPL,ZZ.X"], market: .stocks) }
    }
}
