extension TradeConditions {
    private static let all: BarAccumulator.Updates = .all
    private static let highLowVolume: BarAccumulator.Updates = [.highLow, .volume]
    private static let volumeOnly: BarAccumulator.Updates = .volume
    private static let pricesOnly: BarAccumulator.Updates = [.highLow, .openClose]
    private static let none: BarAccumulator.Updates = []

    /// US stock sale conditions (Massive's unified ids) and what a trade carrying each may update
    /// in consolidated (SIP) bars.
    ///
    /// Source: Massive's `GET /v3/reference/conditions?asset_class=stocks&data_type=trade`,
    /// `update_rules.consolidated` {`updates_high_low`, `updates_open_close`, `updates_volume`},
    /// as captured on 2024-09-14 (published in fin-ai-lab/market-1t `trade_conditions.json`);
    /// names from Polygon's condition list. 41 (Trade Thru Exempt) has no consolidated rule in that
    /// capture and Massive's glossary marks it as updating everything; 26 (Opened) has none
    /// either and is left out (so treated as regular).
    public static let stockEntries: [Entry] = [
        Entry(code: 1, name: "Acquisition", updates: all),
        Entry(code: 2, name: "Average Price Trade", updates: volumeOnly),
        Entry(code: 3, name: "Automatic Execution", updates: all),
        Entry(code: 4, name: "Bunched Trade", updates: all),
        Entry(code: 5, name: "Bunched Sold Trade", updates: highLowVolume),
        Entry(code: 6, name: "CAP Election", updates: all),
        Entry(code: 7, name: "Cash Sale", updates: volumeOnly),
        Entry(code: 8, name: "Closing Prints", updates: all),
        Entry(code: 9, name: "Cross Trade", updates: all),
        Entry(code: 10, name: "Derivatively Priced", updates: highLowVolume),
        Entry(code: 11, name: "Distribution", updates: all),
        Entry(code: 12, name: "Form T/Extended Hours", updates: volumeOnly),
        Entry(code: 13, name: "Extended Hours (Sold Out Of Sequence)", updates: volumeOnly),
        Entry(code: 14, name: "Intermarket Sweep", updates: all),
        Entry(code: 15, name: "Market Center Official Close", updates: none),
        Entry(code: 16, name: "Market Center Official Open", updates: none),
        Entry(code: 17, name: "Market Center Opening Trade", updates: highLowVolume),
        Entry(code: 18, name: "Market Center Reopening Trade", updates: all),
        Entry(code: 19, name: "Market Center Closing Trade", updates: all),
        Entry(code: 20, name: "Next Day", updates: volumeOnly),
        Entry(code: 21, name: "Price Variation Trade", updates: volumeOnly),
        Entry(code: 22, name: "Prior Reference Price", updates: highLowVolume),
        Entry(code: 23, name: "Rule 155 Trade (AMEX)", updates: all),
        Entry(code: 24, name: "Rule 127 (NYSE Only)", updates: all),
        Entry(code: 25, name: "Opening Prints", updates: all),
        Entry(code: 27, name: "Stopped Stock (Regular Trade)", updates: all),
        Entry(code: 28, name: "Re-Opening Prints", updates: all),
        Entry(code: 29, name: "Seller", updates: volumeOnly),
        Entry(code: 30, name: "Sold Last", updates: all),
        Entry(code: 31, name: "Sold Last and Stopped Stock", updates: all),
        Entry(code: 32, name: "Sold (Out Of Sequence)", updates: highLowVolume),
        Entry(code: 33, name: "Sold (Out of Sequence) and Stopped Stock", updates: highLowVolume),
        Entry(code: 34, name: "Split Trade", updates: all),
        Entry(code: 35, name: "Stock Option", updates: all),
        Entry(code: 36, name: "Yellow Flag Regular Trade", updates: all),
        Entry(code: 37, name: "Odd Lot Trade", updates: volumeOnly),
        Entry(code: 38, name: "Corrected Consolidated Close", updates: pricesOnly),
        Entry(code: 41, name: "Trade Thru Exempt", updates: all),
        Entry(code: 52, name: "Contingent Trade", updates: volumeOnly),
        Entry(code: 53, name: "Qualified Contingent Trade", updates: volumeOnly),
        Entry(code: 55, name: "Opening/Reopening Trade Detail", updates: all),
    ]
}
