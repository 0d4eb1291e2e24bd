import Foundation
import Journal
import Testing
import TickBusCore

/// The Swift reader against `Tests/golden/journal-v1.tbj`, which `Tests/golden/make_journal.py`
/// packs from docs/journal.md with Python's `struct`, and against its malformed variants.
@Suite struct JournalGoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("golden")

    struct Expected: Decodable {
        struct Header: Decodable { let epoch: UInt32; let created: Int64; let day: UInt32; let part: UInt32; let publisher: String }
        struct Message: Decodable { let topic: String; let sequence: UInt64; let message_hex: String }
        struct Hole: Decodable { let topic: String; let first: UInt64; let last: UInt64; let reason: UInt16 }
        struct Problem: Decodable, Equatable { let kind: String; let offset: Int64 }
        struct Malformed: Decodable {
            let name: String; let truncate: Int?; let flip: Int?; let problem: Problem?; let messages: Int; let closed: Bool
        }
        let header: Header
        let closed: Bool
        let messages: [Message]
        let holes: [Hole]
        let malformed: [Malformed]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: golden.appendingPathComponent("journal-v1.json")))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func theGoldenFileReadsAsDeclared() throws {
        let expected = try Self.expected()
        let reader = try JournalFileReader(path: Self.golden.appendingPathComponent("journal-v1.tbj").path)
        #expect(reader.header == JournalFileHeader(
            epoch: expected.header.epoch, created: expected.header.created, day: expected.header.day, part: expected.header.part,
            publisher: expected.header.publisher))
        var messages: [String] = []
        #expect(reader.forEachMessage { message, _ in messages.append(Self.hex(Array(message))); return true } == .clean)
        #expect(messages == expected.messages.map(\.message_hex))
        let summary = reader.summary()
        #expect(summary.closed == expected.closed && summary.end == .clean)
        #expect(summary.holes.map { [$0.range.topic, "\($0.range.first)", "\($0.range.last)", "\($0.reason?.rawValue ?? 0)"] }
            == expected.holes.map { [$0.topic, "\($0.first)", "\($0.last)", "\($0.reason)"] })
    }

    @Test func malformedVariantsAreTornOrCorruptWhereDeclared() throws {
        let expected = try Self.expected()
        let original = try [UInt8](Data(contentsOf: Self.golden.appendingPathComponent("journal-v1.tbj")))
        let dir = NSTemporaryDirectory() + "tickbus-journal-golden-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for variant in expected.malformed {
            var bytes = original
            if let cut = variant.truncate { bytes = Array(bytes.prefix(cut)) }
            if let flip = variant.flip { bytes[flip] ^= 0xFF }
            let path = dir + "/\(variant.name).tbj"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            guard let reader = try? JournalFileReader(path: path) else {
                // A header that does not read: the problem is at offset 0.
                #expect(variant.problem?.offset == 0, "\(variant.name)")
                continue
            }
            let summary = reader.summary()
            switch summary.end {
            case .torn(let offset, _):
                #expect(variant.problem?.kind == "torn_tail" && variant.problem?.offset == offset, "\(variant.name): \(summary.end)")
            case .corrupt(let offset, _):
                #expect(variant.problem?.kind == "corrupt" && variant.problem?.offset == offset, "\(variant.name): \(summary.end)")
            case .clean:
                #expect(variant.problem == nil, "\(variant.name): read as clean")
            }
            #expect(Int(summary.messages) == variant.messages && summary.closed == variant.closed, "\(variant.name)")
        }
    }
}
