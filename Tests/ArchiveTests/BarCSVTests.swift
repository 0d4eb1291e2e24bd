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

    /// Each column is written by its type: floats as Python's repr, integer columns as integers.
    @Test func columnsAreWrittenByTheirPandasType() throws {
        var out: [UInt8] = []
        var time = CSVTimeFormatter()
        BarCSV.append(start: 0, open: Price(units: 612_000), high: Price(raw: 23_440), low: Price(units: 612_000),
                      close: try Price(parsing: "1234567.123456789"), volume: .float(5.3999999999999995),
                      columns: [.high, .close, .volume], to: &out, time: &time)
        BarCSV.append(start: 0, open: Price(units: 1), high: Price(units: 1), low: Price(units: 1), close: Price(units: 1),
                      volume: .integer(1_815_630_000_000_000), columns: .prices, to: &out, time: &time)
        #expect(String(decoding: out, as: UTF8.self) == """
            1970-01-01 00:00:00+00:00,612000,2.344e-05,612000,1234567.123456789,5.3999999999999995
            1970-01-01 00:00:00+00:00,1.0,1.0,1.0,1.0,1815630000000000

            """)
    }

    /// How each number is written is kept, so a month's column types can be decided as pandas does.
    @Test(arguments: [
        ("475.32,475,4.75e2,475.0,100", BarColumns([.open, .low, .close]), BarVolume.integer(100)),
        ("1,1,1,1,1969.0", BarColumns.volume, BarVolume.float(1969)),
        ("1,1,1,1,1.37e+03", BarColumns.volume, BarVolume.float(1370)),
        ("1,1,1,1,9223372036854775807", BarColumns(), BarVolume.integer(.max)),
    ])
    func numberFormsAreKept(_ fields: String, _ floats: BarColumns, _ volume: BarVolume) throws {
        let bytes = Array("2024-01-02 09:30:00+00:00,\(fields)".utf8)
        var cache = BarCSV.DayCache()
        let line = try bytes.withUnsafeBytes { try BarCSV.parseLine($0, cache: &cache) }
        #expect(line.floats == floats)
        #expect(line.volume == volume)
        #expect(line.row.high == Price(units: fields.hasPrefix("475") ? 475 : 1))
    }

    @Test(arguments: [
        ("1.0000000001,1,1,1,1", BarCSVError.tooPrecise("open", "1.0000000001")),
        ("1,1e-10,1,1,1", .tooPrecise("high", "1e-10")),
        ("1,1,-0.0,1,1", .negativeZero("low", "-0.0")),
        ("1,1,1,1,9223372036854775808", .outOfRange("volume", "9223372036854775808")),
        ("1,1,1,1,1e400", .outOfRange("volume", "1e400")),
        ("1,1,1,1,inf", .badNumber("volume", "inf")),
        ("1,1,1,1, 5", .badNumber("volume", " 5")),
        ("0x1p3,1,1,1,1", .badNumber("open", "0x1p3")),
    ])
    func refusesWhatItCannotWriteBackAsPandas(_ fields: String, _ error: BarCSVError) {
        let bytes = Array("2024-01-02 09:30:00+00:00,\(fields)".utf8)
        #expect(throws: error) { try bytes.withUnsafeBytes { try BarCSV.parse($0) } }
    }

    @Test func aByteOrderMarkIsNamed() {
        let bom = Array("\u{FEFF}\(BarCSV.header)".utf8)
        #expect(throws: BarCSVError.byteOrderMark) { try bom.withUnsafeBytes { try BarCSV.checkHeader($0) } }
        #expect(BarCSVError.byteOrderMark.description.contains("byte order mark"))
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
