import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// CURVE with a ZAP allow list between a real Publisher and real Subscribers.
@Suite struct CurveBusTests {
    @Test func anAllowedKeyGetsEverythingAWrongKeyOrNoCurveGetsNothing() throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let refusedKeys = Box<[String]>([])
        let zap = try ZAPHandler(context: context, allowedClientKeys: [allowed.publicKey]) { decision in
            if decision.status != "200" { refusedKeys.update { $0.append(decision.clientKey ?? "-") } }
        }
        defer { zap.stop() }
        let publisher = try Publisher(context: context, configuration: .init(
            name: "secure", endpoints: ["tcp://127.0.0.1:*"], security: CurveSecurity(keyPair: server)))
        let endpoint = publisher.endpoints[0]

        let wrongKey = try Subscriber(context: context, configuration: .init(
            endpoints: [endpoint], filters: [filter("T.WRONG")], heartbeatTimeout: .seconds(60),
            security: CurveSecurity(keyPair: stranger, serverKey: server.publicKey)))
        let plain = try Subscriber(context: context, configuration: .init(
            endpoints: [endpoint], filters: [filter("T.PLAIN")], heartbeatTimeout: .seconds(60)))
        let good = try Subscriber(context: context, configuration: .init(
            endpoints: [endpoint], filters: [filter("T.AAPL"), filter("T.WRONG"), filter("T.PLAIN")],
            heartbeatTimeout: .seconds(60), security: CurveSecurity(keyPair: allowed, serverKey: server.publicKey)))
        #expect(try waitForSubscriptions(publisher, ["T.AAPL ", "T.WRONG ", "T.PLAIN "]))
        // The stranger's key reached the ZAP handler and was refused.
        let deadline = nowMilliseconds() + 10_000
        while !refusedKeys.value.contains(stranger.publicKey) && nowMilliseconds() < deadline { sleep(milliseconds: 10) }
        #expect(refusedKeys.value.contains(stranger.publicKey))
        #expect(!refusedKeys.value.contains(allowed.publicKey))
        #expect(zap.counters.accepted >= 1)

        for i in 0..<50 {
            try publisher.publish(trade("AAPL", i))
            try publisher.publish(trade("WRONG", i))
            try publisher.publish(trade("PLAIN", i))
        }
        let received = try collect(good, records: 150).compactMap(\.record)
        #expect(received.count == 150)
        #expect(received.filter { $0.topic == "T.AAPL" }.map(\.header.sequence) == Array(1...50))
        #expect(try drain(wrongKey, for: 500).compactMap(\.record).isEmpty)
        #expect(try drain(plain, for: 100).compactMap(\.record).isEmpty)
        #expect(wrongKey.counters.records == 0 && plain.counters.records == 0)
    }

    /// With the ZAP handler gone (its thread ended), the door stays shut: libzmq would accept
    /// every key unless the ZAP domain is enforced.
    @Test func withoutAZAPHandlerEveryClientIsRefused() throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context, allowedClientKeys: [allowed.publicKey])
        zap.stop()
        let publisher = try Publisher(context: context, configuration: .init(
            name: "secure", endpoints: ["tcp://127.0.0.1:*"], security: CurveSecurity(keyPair: server)))
        let clientContext = try ZMQContext()
        let subscriber = try Subscriber(context: clientContext, configuration: .init(
            endpoints: [publisher.endpoints[0]], filters: [filter("T.AAPL")], heartbeatTimeout: .seconds(60),
            security: CurveSecurity(keyPair: allowed, serverKey: server.publicKey)))
        #expect(try !waitForSubscriptions(publisher, ["T.AAPL "], within: 1500))
        for i in 0..<20 { try publisher.publish(trade("AAPL", i)) }
        #expect(try drain(subscriber, for: 300).compactMap(\.record).isEmpty)
    }

    @Test func theZAPHandlerAnswersRFC27Requests() throws {
        let context = try ZMQContext()
        let allowed = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context, allowedClientKeys: [allowed.publicKey])
        defer { zap.stop() }
        let client = try Socket(context, .req)
        try client.connect(ZAPHandler.endpoint)
        try client.setReceiveTimeout(milliseconds: 5000)
        func ask(_ frames: [[UInt8]]) throws -> [String] {
            try client.send(multipart: frames)
            return try #require(try client.receiveMultipart()).map { String(decoding: $0, as: UTF8.self) }
        }
        func request(domain: String = "tickbus", mechanism: String, credentials: [[UInt8]]) -> [[UInt8]] {
            [Array("1.0".utf8), Array("id-7".utf8), Array(domain.utf8), Array("10.0.0.9".utf8), [], Array(mechanism.utf8)]
                + credentials
        }
        let key = try #require(CurveCertificate.binaryKey(allowed.publicKey))
        #expect(try ask(request(mechanism: "CURVE", credentials: [key])) == ["1.0", "id-7", "200", "OK", allowed.publicKey, ""])
        let other = try #require(CurveCertificate.binaryKey(try CurveKeyPair.generate().publicKey))
        #expect(try ask(request(mechanism: "CURVE", credentials: [other]))[2...3] == ["400", "client key not allowed"])
        #expect(try ask(request(mechanism: "NULL", credentials: []))[2...3] == ["400", "CURVE required"])
        #expect(try ask(request(domain: "other", mechanism: "CURVE", credentials: [key]))[2] == "400")
        #expect(try ask(request(mechanism: "CURVE", credentials: [[1, 2, 3]]))[2] == "400")
        #expect(try ask([Array("2.0".utf8), Array("id-8".utf8)]) == ["1.0", "id-8", "500", "not a ZAP 1.0 request", "", ""])
        #expect(zap.counters.accepted == 1 && zap.counters.denied == 5)
    }

    @Test func certificatesRoundTripAndSecretsMustBePrivate() throws {
        let directory = NSTemporaryDirectory() + uniqueName("certs")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pair = try CurveKeyPair.generate()
        try CurveCertificate.write(pair, to: directory + "/ingest.key")
        #expect(throws: CurveKeyFileError.self) { try CurveCertificate.write(pair, to: directory + "/ingest.key") }
        let secretMode = try FileManager.default.attributesOfItem(atPath: directory + "/ingest.key_secret")[.posixPermissions] as? Int
        #expect(secretMode == 0o600)
        #expect(try CurveCertificate.readKeyPair(directory + "/ingest.key_secret") == pair)
        #expect(try CurveCertificate.readPublicKey(directory + "/ingest.key") == pair.publicKey)
        #expect(try CurveCertificate.readPublicKey(pair.publicKey) == pair.publicKey)
        let other = try CurveKeyPair.generate()
        try CurveCertificate.write(other, to: directory + "/alice.key")
        #expect(try CurveCertificate.readAllowList(directory) == [pair.publicKey, other.publicKey])
        let list = directory + "/list.txt"
        try "# allowed\n\(other.publicKey)\n".write(toFile: list, atomically: true, encoding: .utf8)
        #expect(try CurveCertificate.readAllowList(list) == [other.publicKey])
        chmod(directory + "/ingest.key_secret", 0o640)
        #expect { try CurveCertificate.readKeyPair(directory + "/ingest.key_secret") } throws: { error in
            "\(error)".contains("chmod 600")
        }
    }
}

