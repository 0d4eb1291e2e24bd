import Foundation
import KDB
import Logging
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
import TickBusCore
import ZeroMQ
@testable import KDBService

/// `kdb serve`'s channel pipeline on an embedded channel (handshake, framing, requests, the
/// write bound, timeouts with a virtual clock), and the service on a real socket: readiness and a
/// prompt stop. Tests/kdb/test_serve.py drives the process with pykx and raw q clients.
@Suite struct KDBServerTests {
    static func server(credentials: [String: String]? = nil) throws -> KDBServer {
        var logger = Logger(label: "test.kdb.serve")
        logger.logLevel = .critical
        return KDBServer(
            configuration: .init(port: 0, credentials: credentials, bus: ["tcp://127.0.0.1:1"]),
            context: try ZMQContext(), logger: logger)
    }

    /// A connected embedded channel with `kdb serve`'s pipeline.
    static func client(_ server: KDBServer) throws -> (EmbeddedChannel, SubscriptionFanOut, KDBRequestHandler) {
        let fanOut = SubscriptionFanOut(server: server)
        let requests = KDBRequestHandler(server: server, fanOut: fanOut, id: 1, metadata: [:])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            KDBHandshakeHandler(server: server, metadata: [:]),
            ByteToMessageHandler(KDBFrameDecoder(maxLength: 1 << 20)), requests,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, fanOut, requests)
    }

    static func sync(_ query: String) throws -> [UInt8] {
        try KMessage.encode(.vector(.char, .bytes(Array(query.utf8))), type: .sync)
    }

    static func bytes(_ buffer: ByteBuffer?) -> [UInt8]? { buffer.map { Array($0.readableBytesView) } }

    @Test func handshakeInPiecesThenAPipelinedSubscription() throws {
        let server = try Self.server()
        let (channel, fanOut, _) = try Self.client(server)
        try channel.writeInbound(ByteBuffer(bytes: Array("fe".utf8)))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        // The rest of the hello and a whole request in one read.
        try channel.writeInbound(ByteBuffer(bytes: Array("ed:pw".utf8) + [6, 0] + Self.sync(".u.sub[`trade;`]")))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == [3])
        let reply = try #require(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)))
        let (type, value) = try KMessage.decode(reply)
        #expect(type == .response)
        guard case .list(let items, _) = value, items.count == 2 else {
            Issue.record("not a (name; table) pair: \(value)")
            return
        }
        #expect(items[0] == .symbol("trade"))
        let changes = fanOut.takeChanges()
        #expect(changes.count == 1)
        if case .subscribe(let client, let tables, let syms)? = changes.first {
            #expect(client.id == 1 && tables == ["trade"] && syms == nil)
        } else {
            Issue.record("no subscription posted: \(changes)")
        }
        // The same subscription again: the same reply, nothing new for the bus thread.
        try channel.writeInbound(ByteBuffer(bytes: Self.sync(".u.sub[`trade;`]")))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == reply)
        #expect(fanOut.takeChanges().isEmpty)
        #expect(server.counters.clients == 1)
        _ = try channel.finish(acceptAlreadyClosed: true)
        #expect(server.counters.clients == 0)
        if case .leave(id: 1)? = fanOut.takeChanges().first {} else { Issue.record("no leave posted") }
    }

    @Test func wrongCredentialsGetNoReplyByte() throws {
        let server = try Self.server(credentials: ["feed": "secret"])
        let (channel, _, _) = try Self.client(server)
        try channel.writeInbound(ByteBuffer(bytes: Array("feed:wrong".utf8) + [3, 0]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
        #expect(server.counters.rejected == 1)
    }

    @Test func badHeaderClosesTheConnection() throws {
        let server = try Self.server()
        let (channel, _, _) = try Self.client(server)
        try channel.writeInbound(ByteBuffer(bytes: [3, 0] + [1, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]))
        #expect(!channel.isActive)
        #expect(server.counters.badPeers == 1)
    }

    @Test func peerWaitsTimeOut() throws {
        let server = try Self.server()
        // A hello that never ends.
        let (silent, _, _) = try Self.client(server)
        try silent.writeInbound(ByteBuffer(bytes: Array("user".utf8)))
        (silent.eventLoop as? EmbeddedEventLoop)?.advanceTime(by: KDBHandshakeHandler.timeout)
        #expect(!silent.isActive)
        // A message that stops half way.
        let (stalled, _, _) = try Self.client(server)
        try stalled.writeInbound(ByteBuffer(bytes: [3, 0] + Array(try Self.sync(".u.sub[`trade;`]").prefix(12))))
        _ = try stalled.readOutbound(as: ByteBuffer.self)
        (stalled.eventLoop as? EmbeddedEventLoop)?.advanceTime(by: KDBFrameDecoder.stallTimeout - .seconds(1))
        #expect(stalled.isActive)
        (stalled.eventLoop as? EmbeddedEventLoop)?.advanceTime(by: .seconds(1))
        #expect(!stalled.isActive)
        #expect(server.counters.badPeers == 2)
    }

    @Test func aClientPastItsWriteBoundIsDisconnected() throws {
        let server = try Self.server()
        let (channel, _, requests) = try Self.client(server)
        try channel.writeInbound(ByteBuffer(bytes: [3, 0]))
        _ = try channel.readOutbound(as: ByteBuffer.self)
        requests.deliver(ByteBuffer(bytes: [1, 0, 0, 0, 9, 0, 0, 0, 0xFF]))
        #expect(channel.isActive)
        channel.isWritable = false
        requests.deliver(ByteBuffer(bytes: [1, 0, 0, 0, 9, 0, 0, 0, 0xFF]))
        #expect(!channel.isActive)
        #expect(server.counters.slowClients == 1)
    }

    @Test func hostileBytesInPiecesNeverTrap() throws {
        let server = try Self.server()
        var random = SplitMix64(seed: 15)
        let valid = try Self.sync(".u.sub[`quote;`AAPL`MSFT]")
        for round in 0..<300 {
            let (channel, _, _) = try Self.client(server)
            // Random bytes, a valid request with bytes flipped, or a valid header with a random body.
            var bytes: [UInt8] = [3, 0]
            switch round % 3 {
            case 0: bytes += random.bytes(random.below(600))
            case 1:
                var request = valid
                for _ in 0..<1 + random.below(4) { request[random.below(request.count)] = UInt8(random.below(256)) }
                bytes += request
            default: bytes += Array(valid.prefix(8)) + random.bytes(random.below(64))
            }
            var offset = 0
            while offset < bytes.count, channel.isActive {
                let n = min(bytes.count - offset, 1 + random.below(40))
                try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<offset + n]))
                offset += n
            }
            _ = try channel.finish(acceptAlreadyClosed: true)
        }
        #expect(server.counters.badPeers > 0)
    }

    @Test func reportsWhereItListensAndStopsPromptly() async throws {
        let server = try Self.server()
        let run = Task { try await server.run() }
        let port = try await server.listeningPort()
        #expect(port > 0)
        #expect(try Self.handshake(port: port) == 3)
        run.cancel()
        let start = ContinuousClock.now
        _ = await run.result
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// Connects to 127.0.0.1:`port`, sends a hello asking for capability 6 and returns the reply
    /// byte (each wait bounded by 10 s).
    static func handshake(port: UInt16) throws -> UInt8? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let hello: [UInt8] = Array("user".utf8) + [6, 0]
        guard send(fd, hello, hello.count, Int32(MSG_NOSIGNAL)) == hello.count else { return nil }
        var reply: UInt8 = 0
        return recv(fd, &reply, 1, 0) == 1 ? reply : nil
    }
}
