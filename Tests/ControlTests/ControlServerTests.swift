import Control
import Foundation
import Logging
import TestSupport
import Testing
import TickBusCore
import ZeroMQ

/// A handler with one op of each outcome.
struct EchoHandler: ControlHandler {
    func handle(_ request: ControlRequest, reply: inout JSONObject) throws(ControlError) {
        switch request.op {
        case "echo": reply.add("topics", raw: JSONObject.list(try request.strings("topics")))
        case "slow":
            usleep(200_000)
            reply.add("slept", raw: "true")
        default: throw ControlError(.unknownOp, "unknown op \(request.op)")
        }
    }
}

@Suite struct ControlServerTests {
    let context = try! ZMQContext()
    let logger = Logger(label: "test")

    private func server() throws -> ControlServer {
        try ControlServer(context: context, endpoint: "tcp://127.0.0.1:*", handler: EchoHandler(), logger: logger)
    }

    @Test func answersThroughARawREQSocket() throws {
        let server = try server()
        defer { server.stop() }
        let req = try Socket(context, .req)
        try req.connect(server.endpoint)
        _ = try req.send(#"{"op":"echo","topics":["T.AAPL","A.*"]}"#)
        let reply = try JSONValue.parse(try #require(try req.receiveString()))
        #expect(reply == .object([("ok", .bool(true)), ("topics", .array([.string("T.AAPL"), .string("A.*")]))]))
        #expect(server.counters.requests == 1 && server.counters.errors == 0)
    }

    @Test(arguments: [
        ("not json", "bad_json"), ("[1,2]", "not_object"), (#"{"topics":[]}"#, "unknown_op"), (#"{"op":7}"#, "bad_field"),
        (#"{"op":"nope"}"#, "unknown_op"), (#"{"op":"echo"}"#, "missing_field"), (#"{"op":"echo","topics":7}"#, "bad_field"),
        (#"{"op":"echo","topics":[]}"#, "bad_field"), (#"{"op":"echo","topics":[1]}"#, "bad_field"),
    ])
    func refusesBadRequestsWithTheirCode(_ request: String, _ code: String) throws {
        let server = try server()
        defer { server.stop() }
        let client = try ControlClient(context: context, endpoint: server.endpoint, timeout: .seconds(5))
        let reply = try client.send(request)
        #expect(reply["ok"] == .bool(false))
        #expect(reply["error"]?["code"]?.string == code)
        #expect(reply["error"]?["message"]?.string?.isEmpty == false)
    }

    /// The token is compared over its whole length: the right token with anything after it,
    /// even 256 NULs (which a length compared modulo 256 let through), is refused.
    @Test func aTokenMustMatchExactly() throws {
        let token = "s3cret-token"
        let server = try ControlServer(
            context: context, endpoint: "tcp://127.0.0.1:*", handler: EchoHandler(), logger: logger, token: token)
        defer { server.stop() }
        let client = try ControlClient(context: context, endpoint: server.endpoint, timeout: .seconds(5))
        func reply(_ candidate: String) throws -> JSONValue {
            var request = JSONObject()
            request.add("op", string: "echo")
            request.add("topics", raw: #"["T.A"]"#)
            request.add("token", string: candidate)
            return try client.send(request.text)
        }
        #expect(try reply(token)["ok"] == .bool(true))
        for wrong in [token + String(repeating: "\u{0}", count: 256), token + String(repeating: "\u{0}", count: 512),
                      token + "x", String(token.dropLast()), "", String(repeating: "\u{0}", count: 256)] {
            let answer = try reply(wrong)
            #expect(answer["error"]?["code"]?.string == "unauthorized", "\(wrong.utf8.count) bytes")
        }
    }

    @Test func refusesHugeAndMultipartRequests() throws {
        let server = try server()
        defer { server.stop() }
        let req = try Socket(context, .req)
        try req.connect(server.endpoint)
        _ = try req.send(#"{"op":"echo","topics":[""# + String(repeating: "x", count: 70_000) + #""]}"#)
        #expect(try JSONValue.parse(try req.receiveString()!)["error"]?["code"]?.string == "too_large")
        _ = try req.send(multipart: [Array("{}".utf8), Array("{}".utf8)])
        #expect(try JSONValue.parse(try req.receiveString()!)["error"]?["code"]?.string == "bad_request")
        let many = "[" + Array(repeating: "\"T.A\"", count: 10_001).joined(separator: ",") + "]"
        _ = try req.send(#"{"op":"echo","topics":"# + many + "}")
        #expect(try JSONValue.parse(try req.receiveString()!)["error"]?["code"]?.string == "too_large")
    }

    /// Ten thousand random requests, each answered, and the server still serving afterwards.
    @Test func survivesTenThousandRandomRequests() throws {
        let server = try server()
        defer { server.stop() }
        let req = try Socket(context, .req)
        try req.connect(server.endpoint)
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "[", "]", ",", ":", "\"op\"", "\"echo\"", "\"topics\"", "\"T.AAPL\"", "1", "null", "\"\\u00",
                      "\u{00}", "\u{FF}", "true", " ", "\"", "\\", "-1e999", "[[[[[[[[[[", "]]]]]]]]]]"]
        var ok = 0, refused = 0
        for i in 0..<10_000 {
            var bytes: [UInt8]
            if i % 3 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = Array((0..<Int.random(in: 1...16, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined().utf8)
            }
            if i % 50 == 0 { bytes = Array(#"{"op":"echo","topics":["T.AAPL"]}"#.utf8) }
            _ = try req.send(bytes)
            let reply = try JSONValue.parse(try #require(try req.receiveString()))
            switch reply["ok"] {
            case .bool(true): ok += 1
            case .bool(false):
                refused += 1
                #expect(reply["error"]?["code"]?.string.flatMap(ControlError.Code.init(rawValue:)) != nil)
            default: Issue.record("not a control reply: \(reply.text)")
            }
        }
        #expect(ok + refused == 10_000)
        #expect(ok >= 200)
        #expect(server.counters.requests == 10_000)
        #expect(server.counters.errors == UInt64(refused))
    }

    /// No server: the client times out with a clear message, and the same client works once a
    /// server appears (its REQ socket was replaced, not left waiting for the lost reply).
    @Test func timesOutAndRecoversWhenTheServerAppears() throws {
        let endpoint = "tcp://127.0.0.1:\(freeTCPPort())"
        let client = try ControlClient(context: context, endpoint: endpoint, timeout: .milliseconds(300))
        let started = nowMilliseconds()
        do {
            _ = try client.call("echo") { $0.add("topics", raw: #"["x"]"#) }
            Issue.record("expected a timeout")
        } catch {
            guard case .timeout = error else { Issue.record("expected a timeout, got \(error)"); return }
            #expect("\(error)".contains("is `tickbus ingest` running"))
        }
        #expect(nowMilliseconds() - started < 10_000)
        let server = try ControlServer(context: context, endpoint: endpoint, handler: EchoHandler(), logger: logger)
        defer { server.stop() }
        let reply = try client.call("echo") { $0.add("topics", raw: #"["T.X"]"#) }
        #expect(reply["topics"] == .array([.string("T.X")]))
    }

    @Test func aSlowRequestDelaysOnlyItsOwnReply() throws {
        let server = try server()
        defer { server.stop() }
        let client = try ControlClient(context: context, endpoint: server.endpoint, timeout: .seconds(5))
        let started = nowMilliseconds()
        #expect(try client.call("slow")["slept"] == .bool(true))
        #expect(nowMilliseconds() - started >= 190)
        #expect(throws: ControlClientError.self) { try client.call("nope") }
    }

    @Test func bindFailureIsAnError() throws {
        let server = try server()
        defer { server.stop() }
        #expect(throws: (any Error).self) {
            try ControlServer(context: context, endpoint: server.endpoint, handler: EchoHandler(), logger: logger)
        }
    }
}
