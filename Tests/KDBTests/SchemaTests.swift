import Foundation
import Testing
@testable import KDB

/// deploy/kdb/sym.q declares exactly the columns and types ``TickTable`` sends.
@Suite struct SchemaTests {
    static let symQ = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/kdb/sym.q")

    static let qTypes: [String: KType] = [
        "timespan": .timespan, "symbol": .symbol, "timestamp": .timestamp, "float": .float,
        "short": .short, "long": .long, "boolean": .boolean, "int": .int, "real": .real, "date": .date,
    ]

    /// `name:([]col:`type$();col:();...)` lines of sym.q.
    static func tables() throws -> [String: [(String, KType?)]] {
        var out: [String: [(String, KType?)]] = [:]
        for line in try String(contentsOf: symQ, encoding: .utf8).split(separator: "\n") where line.contains(":([]") {
            let name = String(line.prefix { $0 != ":" })
            let body = line.drop { $0 != "]" }.dropFirst().dropLast()
            out[name] = body.split(separator: ";").map { column in
                let parts = column.split(separator: ":", maxSplits: 1)
                let spec = parts[1].replacingOccurrences(of: "`g#", with: "")
                if spec == "()" { return (String(parts[0]), nil) }
                let typeName = String(spec.dropFirst().prefix { $0 != "$" })
                return (String(parts[0]), qTypes[typeName])
            }
        }
        return out
    }

    @Test func symQMatchesTickTables() throws {
        let declared = try Self.tables()
        #expect(declared.count == TickTable.allCases.count)
        for table in TickTable.allCases {
            let columns = try #require(declared[table.name()])
            #expect(columns.map(\.0) == table.columns.map(\.name), "\(table)")
            #expect(columns.map(\.1) == table.columns.map(\.type), "\(table)")
            #expect(columns.prefix(2).map(\.0) == ["time", "sym"])
        }
        let text = try String(contentsOf: Self.symQ, encoding: .utf8)
        for table in TickTable.allCases { #expect(text.contains("\(table.name(historical: true)):\(table.name())\n")) }
    }
}
