import Foundation
import TickBusCore

/// The fixture `Tests/golden/wire-v1.json`, written by `Tests/golden/make_vectors.py`.
enum GoldenVectors {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One valid record: its fields (as JSON objects), topic and bytes.
    struct Case: @unchecked Sendable, CustomStringConvertible {
        // The dictionary is immutable after loading, so sharing it across tasks is safe.
        let name: String
        let topic: String
        let fields: [String: Any]
        let recordHex: String
        let messageHex: String
        var description: String { name }
    }

    /// One malformed message and the `WireError.category` decoding it must throw.
    struct Invalid: Sendable, CustomStringConvertible {
        let name: String
        let messageHex: String
        let error: String
        var description: String { name }
    }

    struct File: @unchecked Sendable {
        let version: Int
        let cases: [Case]
        let invalid: [Invalid]
    }

    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("golden").appendingPathComponent("wire-v1.json")

    static let loaded: Result<File, Failure> = {
        do {
            let data = try Data(contentsOf: url)
            guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let version = root["version"] as? Int,
                  let cases = root["cases"] as? [[String: Any]],
                  let invalid = root["invalid"] as? [[String: Any]]
            else { return .failure(Failure(description: "\(url.path): not {version, cases, invalid}")) }
            return .success(File(
                version: version,
                cases: try cases.map { c in
                    guard let name = c["name"] as? String, let topic = c["topic"] as? String,
                          let fields = c["fields"] as? [String: Any], let record = c["record_hex"] as? String,
                          let message = c["message_hex"] as? String
                    else { throw Failure(description: "malformed case \(c["name"] ?? "?")") }
                    return Case(name: name, topic: topic, fields: fields, recordHex: record, messageHex: message)
                },
                invalid: try invalid.map { c in
                    guard let name = c["name"] as? String, let message = c["message_hex"] as? String,
                          let error = c["error"] as? String
                    else { throw Failure(description: "malformed invalid case \(c["name"] ?? "?")") }
                    return Invalid(name: name, messageHex: message, error: error)
                }))
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(description: "\(url.path): \(error)"))
        }
    }()

    /// The valid cases, or none when the file does not load (a separate test reports that).
    static var cases: [Case] { (try? loaded.get().cases) ?? [] }
    static var invalid: [Invalid] { (try? loaded.get().invalid) ?? [] }

    // MARK: Building records from fields

    static func record(_ c: Case) throws -> Record {
        let f = Fields(c.fields, name: c.name)
        let header = RecordHeader(
            market: try f.market("market"), flags: try f.flags("flags"), epoch: try f.uint32("epoch"),
            sequence: try f.uint64("sequence"), tsEvent: try f.int64("ts_event"),
            tsRecv: try f.int64("ts_recv"), symbol: try f.fixed("symbol"))
        switch try f.string("kind") {
        case "trade":
            return .trade(Trade(
                header: header, price: try f.price("price"), size: try f.double("size"),
                upstreamSequence: try f.int64("upstream_sequence"), exchange: try f.uint16("exchange"),
                tape: try f.uint8("tape"), conditions: try Conditions(f.uint16s("conditions")),
                tradeID: try f.fixed("trade_id")))
        case "quote":
            return .quote(Quote(
                header: header, bidPrice: try f.price("bid_price"), askPrice: try f.price("ask_price"),
                bidSize: try f.double("bid_size"), askSize: try f.double("ask_size"),
                upstreamSequence: try f.int64("upstream_sequence"), bidExchange: try f.uint16("bid_exchange"),
                askExchange: try f.uint16("ask_exchange"), condition: try f.uint16("condition"),
                tape: try f.uint8("tape")))
        case "bar":
            return .bar(Bar(
                header: header, open: try f.price("open"), high: try f.price("high"), low: try f.price("low"),
                close: try f.price("close"), vwap: try f.price("vwap"), volume: try f.double("volume"),
                tradeCount: try f.uint64("trade_count"),
                interval: try BarInterval(seconds: f.uint32("interval"))))
        case "status":
            let levelName = try f.string("level")
            guard let level = StatusLevel.allCases.first(where: { $0.name == levelName }) else {
                throw Failure(description: "\(c.name): unknown level \(levelName)")
            }
            return .status(Status(header: header, level: level, json: try f.string("json")))
        case "heartbeat":
            return .heartbeat(Heartbeat(
                header: header, published: try f.uint64("published"), dropped: try f.uint64("dropped"),
                startedAt: try f.int64("started_at"), topics: try f.uint32("topics"),
                subscriptions: try f.uint32("subscriptions"), intervalMilliseconds: try f.uint32("interval_ms")))
        case let kind:
            throw Failure(description: "\(c.name): unknown kind \(kind)")
        }
    }

    /// Typed access to a case's `fields` object.
    struct Fields {
        let values: [String: Any]
        let name: String

        init(_ values: [String: Any], name: String) {
            self.values = values
            self.name = name
        }

        func fail(_ key: String, _ why: String) -> Failure {
            Failure(description: "\(name).\(key): \(why) (\(values[key].map { "\($0)" } ?? "missing"))")
        }

        func value(_ key: String) throws -> Any {
            guard let v = values[key] else { throw fail(key, "missing") }
            return v
        }

        func number(_ key: String) throws -> NSNumber {
            guard let n = try value(key) as? NSNumber else { throw fail(key, "not a number") }
            return n
        }

        func string(_ key: String) throws -> String {
            guard let s = try value(key) as? String else { throw fail(key, "not a string") }
            return s
        }

        /// Integers must be whole and in range: compare the decimal text NSNumber prints.
        func integer<T: FixedWidthInteger>(_ key: String, _: T.Type) throws -> T {
            let n = try number(key)
            guard let v = T(n.stringValue) else { throw fail(key, "not a \(T.self)") }
            return v
        }

        func uint8(_ key: String) throws -> UInt8 { try integer(key, UInt8.self) }
        func uint16(_ key: String) throws -> UInt16 { try integer(key, UInt16.self) }
        func uint32(_ key: String) throws -> UInt32 { try integer(key, UInt32.self) }
        func uint64(_ key: String) throws -> UInt64 { try integer(key, UInt64.self) }
        func int64(_ key: String) throws -> Int64 { try integer(key, Int64.self) }

        /// A size or volume; JSON null is the canonical quiet NaN.
        func double(_ key: String) throws -> Double {
            if try value(key) is NSNull { return Double(bitPattern: 0x7FF8_0000_0000_0000) }
            return try number(key).doubleValue
        }

        /// A decimal string; JSON null is ``Price/null``.
        func price(_ key: String) throws -> Price {
            if try value(key) is NSNull { return .null }
            let text = try string(key)
            do { return try Price(parsing: text) } catch { throw fail(key, "\(error)") }
        }

        func fixed(_ key: String) throws -> FixedString {
            let text = try string(key)
            do { return try FixedString(text) } catch { throw fail(key, "\(error)") }
        }

        func uint16s(_ key: String) throws -> [UInt16] {
            guard let list = try value(key) as? [NSNumber] else { throw fail(key, "not a list of numbers") }
            return try list.map { n in
                guard let v = UInt16(n.stringValue) else { throw fail(key, "not a UInt16") }
                return v
            }
        }

        func market(_ key: String) throws -> Market {
            let text = try string(key)
            guard let m = Market.allCases.first(where: { $0.name == text }) else { throw fail(key, "unknown market") }
            return m
        }

        func flags(_ key: String) throws -> RecordFlags {
            guard let names = try value(key) as? [String] else { throw fail(key, "not a list of names") }
            var flags: RecordFlags = []
            for name in names {
                switch name {
                case "historical": flags.insert(.historical)
                case "revision": flags.insert(.revision)
                case "local": flags.insert(.local)
                case "late": flags.insert(.late)
                default: throw fail(key, "unknown flag \(name)")
                }
            }
            return flags
        }
    }
}
