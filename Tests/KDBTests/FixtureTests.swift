import Foundation
import Testing
@testable import KDB

/// Both byte-vector files: every message decodes to the expected value, re-encodes to the same
/// bytes, and the compressed ones decompress (and compress back to kdb+'s own bytes).
@Suite struct FixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/kdb")

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var message: [UInt8]
        var expected: String?
        var uncompressed: [UInt8]?
        var testDescription: String { name }
    }

    static func load(_ file: String) -> [Vector] {
        let data = try! Data(contentsOf: directory.appendingPathComponent(file))
        let json = try! JSONSerialization.jsonObject(with: data)
        let items = (json as? [String: Any]).map { $0["vectors"] as! [[String: Any]] } ?? (json as! [[String: Any]])
        return items.map { item in
            Vector(
                name: (item["q"] ?? item["name"]) as! String,
                message: hex((item["message_hex"] ?? item["hex"]) as! String),
                expected: item["qipc_decoded"] as? String,
                uncompressed: (item["uncompressed_hex"] as? String).map(hex))
        }
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static let realQ = load("real_q_vectors.json")
    static let kx = load("golden_kx_b9.json")

    @Test func fixtureCounts() {
        #expect(Self.realQ.count == 121)
        #expect(Self.kx.count == 37)
        #expect(Self.realQ.filter { $0.uncompressed != nil }.count == 3)
    }

    @Test(arguments: realQ + kx)
    func decodesAndReencodes(_ v: Vector) throws {
        let (type, value) = try KMessage.decode(v.message)
        #expect(type == KMessageType(rawValue: v.message[1]))
        if let expected = v.expected {
            // The fixture cuts its notation at 200 characters: compare that much.
            let rendered = PythonNotation.render(value)
            #expect(expected.count == 200 ? rendered.hasPrefix(expected) : rendered == expected)
        }
        let plain = v.uncompressed ?? v.message
        let encoded = try KMessage.encode(value, type: type)
        #expect(encoded == plain)
    }

    @Test(arguments: realQ.filter { $0.uncompressed != nil })
    func compressedVectors(_ v: Vector) throws {
        let plain = try v.message.withUnsafeBytes { try KCompression.decompress($0, maxLength: 1 << 20) }
        #expect(plain == v.uncompressed)
        // The compressor reproduces real kdb+'s bytes exactly.
        let packed = v.uncompressed!.withUnsafeBytes { KCompression.compress($0, minimumLength: 0) }
        #expect(packed == v.message)
    }

    @Test func handshakeBytes() {
        #expect(KHandshake.clientHello(credentials: "feed:secret") == FixtureTests.hex("666565643a73656372657403") + [0])
        let hello = KHandshake.parseHello(FixtureTests.hex("666565643a73656372657406"))
        #expect(hello == .init(user: "feed", password: "secret", capability: 6))
        #expect(hello.reply == 3)
        #expect(KHandshake.parseHello(Array("user:pw".utf8)).capability == 0)
        #expect(KHandshake.parseHello([0x3A, 3]) == .init(user: "", password: "", capability: 3))
    }
}
