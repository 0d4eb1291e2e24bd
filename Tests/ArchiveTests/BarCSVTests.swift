import Archive
import Testing
import TickBusCore

@Suite struct BarCSVTests {
    @Test func writesTheOldPipelinesBytes() throws {
        let row = BarRow(start: 1_704_187_800_000_000_000, open: try Price(parsing: "475.32"), high: try Price(parsing: "475.45"),
                         low: try Price(parsing: "475.28"), close: try Price(parsing: "475.40"), volume: 15234)
        #expect(BarCSV.line(row) == "2024-01-02 09:30:00+00:00,475.32,475.45,475.28,475.4,15234")
        let whole = BarRow(start: 0, open: Price(units: 475), high: Price(units: 476), low: Price(units: 475),
                           close: Price(units: 475), volume: 0.25)
        #expect(BarCSV.line(whole) == "1970-01-01 00:00:00+00:00,475.0,476.0,475.0,475.0,0.25")
    }

    @Test func parsesWhatItWrites() throws {
        let row = BarRow(start: 1_709_251_199_000_000_000, open: try Price(parsing: "0.0001"), high: try Price(parsing: "12.5"),
                         low: try Price(parsing: "0.0001"), close: try Price(parsing: "3"), volume: 1e9)
        let line = Array(BarCSV.line(row).utf8)
        #expect(try line.withUnsafeBytes { try BarCSV.parse($0) } == row)
    }

    @Test(arguments: [
        ("2024-01-02 09:30:00+01:00,1,1,1,1,1", BarCSVError.notUTC),
        ("2024-02-30 09:30:00+00:00,1,1,1,1,1", .badTime("no such date or time")),
        ("2024-01-02T09:30:00+00:00,1,1,1,1,1", .badTime("expected YYYY-MM-DD HH:MM:SS+00:00")),
        ("2024-01-02 09:30:00+00:00,1,1,1,1", .fieldCount(5)),
        ("2024-01-02 09:30:00+00:00,1,,1,1,1", .empty("high")),
        ("2024-01-02 09:30:00+00:00,1,1,1,1,NaN", .badNumber("volume", "NaN")),
        ("2024-01-02 09:30:00+00:00,1,x,1,1,1", .badNumber("high", "x")),
    ])
    func refusesMalformedRows(_ line: String, _ error: BarCSVError) {
        let bytes = Array(line.utf8)
        #expect(throws: error) { try bytes.withUnsafeBytes { try BarCSV.parse($0) } }
    }

    @Test func symbolsAreCheckedBeforeTheyBecomePaths() throws {
        for bad in ["../x", "..", "a/b", "", ".hidden", "A B", String(repeating: "A", count: 25)] {
            #expect(throws: ArchivePathError.self) { try ArchivePath.validate(symbol: bad) }
        }
        #expect(try ArchivePath.validate(symbol: "BRK.B") == "BRK.B")
        #expect(ArchivePath.rawSecondBars("SPY", 2024, 1) == "raw_1s/SPY/SPY_2024_01.csv")
        #expect(ArchivePath.aggregatedFile("SPY", 2024, 1, try #require(BarInterval(label: "1min"))) == "SPY_2024_01_1min.csv")
        #expect(ArchivePath.label(try #require(BarInterval(label: "15s"))) == "15s")
        #expect(ArchivePath.label(.hour) == "1h")
    }
}
