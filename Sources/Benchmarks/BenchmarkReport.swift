import TickBusCore

/// One measured figure, optionally compared with a baseline.
public struct Figure: Sendable {
    public var name: String
    public var value: Double
    public var unit: String
    public var baseline: Double?
    public var target: String?

    public init(name: String, value: Double, unit: String, baseline: Double? = nil, target: String? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.baseline = baseline
        self.target = target
    }

    /// `value / baseline`, when there is a baseline.
    public var ratio: Double? { baseline.map { value / $0 } }

    /// `{"name":…,"value":…,"unit":…,"baseline":…,"ratio":…}`.
    public var json: String {
        var out = JSONObject()
        out.add("name", string: name)
        out.add("value", raw: String(value.rounded()))
        out.add("unit", string: unit)
        if let baseline { out.add("baseline", raw: String(baseline.rounded())) }
        if let ratio { out.add("ratio", raw: String((ratio * 1000).rounded() / 1000)) }
        if let target { out.add("target", string: target) }
        return out.text
    }
}

/// Prints figures as an aligned table.
public enum BenchmarkTable {
    public static func render(_ figures: [Figure]) -> String {
        let header = ["benchmark", "value", "unit", "baseline", "ratio", "target"]
        let rows = figures.map { f in
            [f.name, grouped(f.value), f.unit, f.baseline.map(grouped) ?? "",
             f.ratio.map { $0 >= 2 ? format2($0) + "x" : format2($0 * 100) + "%" } ?? "", f.target ?? ""]
        }
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == 0 ? cell.padding(widths[i]) : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// `1234567.8` → `1,234,568`.
    static func grouped(_ value: Double) -> String {
        let digits = String(Int64(value.rounded()))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func format2(_ value: Double) -> String {
        let scaled = Int64((value * 10).rounded())
        return "\(scaled / 10).\(abs(scaled % 10))"
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
