import Archive
import Control
import Ingest
import Journal
import KDB
import Massive
import MassiveREST
import TickBusCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parsers of untrusted bytes that `tickbus-fuzz` drives, one entry point each. Each takes
/// any bytes and must return: a trap (a failed `precondition`, `!`, overflow, out-of-range
/// index) is a bug. Checks of invariants the parsers promise (a decoded record re-encodes to the
/// same bytes, a parsed JSON value survives a round trip) trap here on purpose, so the fuzzer
/// reports them too. `docs/fuzzing.md` says how to run them.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Massive WebSocket frames (`MassiveDecoder`), decoded as each market's.
    case massiveWS = "massive-ws"
    /// Massive REST response bodies (`RESTPageParser`), as each kind of page.
    case restPage = "rest-page"
    /// Control requests (`ControlRequest`, `JSONValue`) and the fields ingest reads from them
    /// (backfill bounds, timespans, topic filters).
    case control
    /// q IPC messages (`KMessage.decode`: header, decompression, `KReader`), and bare objects.
    case kdbIPC = "kdb-ipc"
    /// Bars CSV files (`BarCSV.parse`), line by line as the archive reads them.
    case barCSV = "bar-csv"
    /// Bus messages and wire-format records (`BusMessage.decode`, `WireFormat.decode`).
    case wire
    /// Journal files (`JournalFileReader`: header, blocks, messages, holes; a repair), and the
    /// journal's file names and settings.
    case journal
    /// Replay protocol bodies (`ReplayRequest`, `ReplayHole`, `ReplayEnd`, `ReplayRefusal`):
    /// what a replay server and its clients read from each other.
    case replay

    /// Runs one input through the target.
    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .massiveWS: FuzzTarget.massiveWS(bytes)
        case .restPage: FuzzTarget.restPage(bytes)
        case .control: FuzzTarget.control(bytes)
        case .kdbIPC: FuzzTarget.kdbIPC(bytes)
        case .barCSV: FuzzTarget.barCSV(bytes)
        case .wire: FuzzTarget.wire(bytes)
        case .journal: FuzzTarget.journal(bytes)
        case .replay: FuzzTarget.replay(bytes)
        }
    }

    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }

    // MARK: Targets

    static func massiveWS(_ frame: UnsafeRawBufferPointer) {
        for market in Market.allCases {
            var decoder = MassiveDecoder(market: market)
            var records = 0
            decoder.decode(frame, receivedAt: 1_700_000_000_000_000_000) { event in
                if case .record(let record) = event {
                    records += 1
                    // What ingest does next with a record: its wire encoding.
                    _ = WireFormat.encode(record)
                }
            }
            precondition(UInt64(records) == decoder.counters.records, "records handed on and counted differ")
        }
    }

    static func restPage(_ body: UnsafeRawBufferPointer) {
        let pages: [(HistoryKind, Symbol, Market)] = [
            (.secondBars, "AAPL", .stocks), (.minuteBars, "AAPL", .stocks), (.dayBars, "I:SPX", .indices),
            (.trades, "AAPL", .stocks), (.trades, "BTC-USD", .crypto), (.quotes, "AAPL", .stocks),
            (.quotes, "EUR/USD", .forex),
        ]
        for (kind, symbol, market) in pages {
            var parser = RESTPageParser(kind: kind, symbol: symbol, market: market)
            guard let page = try? parser.parse(body, receivedAt: 1_700_000_000_000_000_000) else { continue }
            for record in page.records { _ = WireFormat.encode(record) }
        }
    }

    static func control(_ bytes: UnsafeRawBufferPointer) {
        let array = Array(bytes)
        // The JSON parser alone, then its promise: compact text parses back to the same value.
        if let value = try? JSONValue.parse(array) {
            let text = value.text
            guard let again = try? JSONValue.parse(text) else { preconditionFailure("JSONValue.text does not parse: \(text)") }
            precondition(again == value, "JSONValue round trip changed the value: \(text)")
        }
        guard let request = try? ControlRequest(bytes: array) else { return }
        // The typed accessors, on every key the request has and on the ones the ops read.
        var keys = ["topics", "id", "symbol", "from", "to", "timespan", "token"]
        if case .object(let members) = request.body { keys += members.map(\.key) }
        for key in keys {
            _ = try? request.string(key)
            _ = try? request.optionalString(key)
            _ = try? request.optionalBool(key)
            _ = try? request.strings(key)
            _ = request.body[key]?.int
            _ = request.body[key]?.double
        }
        // snapshot / subscribe: topic patterns.
        if let topics = try? request.strings("topics") {
            for pattern in topics { _ = try? TopicFilter(pattern) }
            // subscribe / unsubscribe: Massive params, as ingest checks them for its market.
            for market in Market.allCases {
                if let params = try? MassiveSubscription.parse(topics, market: market) {
                    precondition(params.allSatisfy { (try? MassiveSubscription.validate($0, market: market)) == $0 },
                                 "a parsed subscription does not validate")
                }
            }
        }
        // backfill: the fields ingest reads (BackfillRequest.init(_:market:), internal there).
        func bound(_ key: String) -> HistoryBound? {
            let text: String
            if let int = request.body[key]?.int {
                text = String(int)
            } else if let string = try? request.string(key) {
                text = string
            } else {
                return nil
            }
            guard let bound = try? HistoryBound(parsing: text) else { return nil }
            _ = bound.earliest
            _ = bound.latest
            _ = bound.description
            return bound
        }
        let asked = (try? request.optionalString("timespan")).flatMap { $0 }.flatMap(HistoryKind.init(timespan:))
        let from = bound("from"), to = bound("to")
        guard let symbol = try? request.string("symbol"), let from, let to else { return }
        for market in Market.allCases {
            for kind in asked.map({ [$0] }) ?? HistoryKind.allCases {
                guard let backfill = try? BackfillRequest(
                    symbol: symbol, kind: kind, from: from, to: to, market: market, reason: "request")
                else { continue }
                _ = backfill.query.path(limit: 50_000)
            }
        }
    }

    static func kdbIPC(_ bytes: UnsafeRawBufferPointer) {
        // A whole message, as a q peer sends it.
        if let (_, value) = try? KMessage.decode(bytes) {
            // What kdb serve does with some of it: encode a reply.
            _ = try? KMessage.encode(value, type: .response)
            _ = value.text
            _ = value.symbolList
        }
        // A bare object in either byte order (what follows a header).
        for littleEndian in [true, false] {
            var reader = KReader(bytes, littleEndian: littleEndian)
            _ = try? reader.readObject()
        }
        // The handshake: credentials up to the first NUL.
        _ = KHandshake.parseHello(bytes.prefix { $0 != 0 })
    }

    static func barCSV(_ file: UnsafeRawBufferPointer) {
        // Lines as LineReader hands them (no `\n`, no `\r` before it), one DayCache for the file.
        var cache = BarCSV.DayCache()
        var start = 0
        while start <= file.count {
            var end = start
            while end < file.count, file[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, file[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: file[start..<lineEnd])
            let cached = Result { () throws(BarCSVError) in try BarCSV.parse(line, cache: &cache) }
            let fresh = Result { () throws(BarCSVError) in try BarCSV.parse(line) }
            switch (cached, fresh) {
            case (.success(let a), .success(let b)):
                precondition(a == b || a.volume.isNaN, "the day cache changed a row: \(a) vs \(b)")
                var out: [UInt8] = []
                BarCSV.append(a, to: &out)
            case (.failure, .failure): break
            default: preconditionFailure("the day cache changed whether a row parses")
            }
            start = end + 1
        }
    }

    static func wire(_ bytes: UnsafeRawBufferPointer) {
        // A bus message: topic, space, record; what every subscriber decodes.
        if let record = try? BusMessage.decode(bytes) {
            let again = BusMessage.encode(record)
            precondition(again.elementsEqual(bytes), "decoded message re-encodes to other bytes")
            _ = RecordFormatter.json(record)
        }
        // A bare record.
        if let record = try? WireFormat.decode(bytes) {
            let again = WireFormat.encode(record)
            precondition(again.elementsEqual(bytes), "decoded record re-encodes to other bytes")
        }
        _ = try? BusMessage.split(bytes)
    }

    /// A scratch file per process for `journal`.
    nonisolated(unsafe) static var journalScratch: String?

    static func journal(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        _ = JournalFileName(parsing: text)
        _ = JournalSync(parsing: text)
        _ = try? JournalRetention(parsing: text)
        let directory = journalScratch ?? {
            var template = Array("/tmp/tickbus-fuzz-journal-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { buffer -> String in
                guard let base = buffer.baseAddress, let name = mkdtemp(base) else { return "/tmp" }
                return String(cString: name)
            }
            journalScratch = made
            return made
        }()
        let path = directory + "/20240102T000000Z-00000001-0001.tbj"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        _ = write(fd, bytes.baseAddress, bytes.count)
        close(fd)
        if let reader = try? JournalFileReader(path: path) {
            let summary = reader.summary()
            var messages: UInt64 = 0
            let end = reader.forEachMessage { _, _ in messages += 1; return true }
            precondition(messages == summary.messages || summary.end != JournalFileReader.End.clean || end != JournalFileReader.End.clean, "messages read and counted differ")
        }
        // What a replay reads: it must end, whatever the file holds.
        if let cursor = try? JournalCursor(directory: directory, start: .beginning, filters: []) {
            var steps = 0
            loop: while true {
                steps += 1
                precondition(steps < 1_000_000, "a journal cursor does not reach the head")
                switch cursor.next() {
                case .head: break loop
                default: continue
                }
            }
        }
        // What a restarting publisher does with a file it finds torn.
        if let repair = try? JournalDirectory.repair(file: path), !repair.removed, let reader = try? JournalFileReader(path: path) {
            let after = reader.summary()
            precondition(after.end == JournalFileReader.End.clean && after.closed, "a repaired file does not read clean and closed")
        }
    }

    static func replay(_ bytes: UnsafeRawBufferPointer) {
        if let request = try? ReplayRequest(decoding: bytes) {
            let again = request.encoded().withUnsafeBytes { try? ReplayRequest(decoding: $0) }
            precondition(again == request, "a decoded replay request does not survive a round trip")
        }
        if let hole = try? ReplayHole(decoding: bytes) {
            let again = hole.encoded().withUnsafeBytes { try? ReplayHole(decoding: $0) }
            precondition(again == hole, "a decoded replay hole does not survive a round trip")
        }
        _ = try? ReplayEnd(decoding: bytes)
        _ = try? ReplayRefusal(decoding: bytes)
    }
}
