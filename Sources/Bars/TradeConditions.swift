import TickBusCore

/// Which bar fields a trade may update, from its condition codes: the intersection of each
/// code's rule (no codes is a regular sale and updates everything). A code the table does not
/// know is treated as a regular sale, so a new upstream code never drops trades silently.
public struct TradeConditions: Sendable {
    /// One condition code and its rule.
    public struct Entry: Sendable, Equatable {
        public let code: UInt16
        public let name: String
        public let updates: BarAccumulator.Updates

        public init(code: UInt16, name: String, updates: BarAccumulator.Updates) {
            self.code = code
            self.name = name
            self.updates = updates
        }
    }

    /// Rules indexed by code; codes past the end are unknown.
    private let rules: [BarAccumulator.Updates]

    public init(entries: [Entry]) {
        var rules = [BarAccumulator.Updates](repeating: .all, count: Int(entries.map(\.code).max() ?? 0) + 1)
        for entry in entries { rules[Int(entry.code)] = entry.updates }
        self.rules = rules
    }

    /// Massive's consolidated rules for US stock trades (``stockEntries``).
    public static let stocks = TradeConditions(entries: stockEntries)

    /// The rule of one code (`.all` when unknown).
    @inline(__always)
    public func updates(code: UInt16) -> BarAccumulator.Updates {
        Int(code) < rules.count ? rules[Int(code)] : .all
    }

    /// What a trade with these codes may update.
    @inline(__always)
    public func updates(_ conditions: Conditions) -> BarAccumulator.Updates {
        var result = BarAccumulator.Updates.all
        for i in 0..<conditions.count { result.formIntersection(updates(code: conditions[i])) }
        return result
    }
}
