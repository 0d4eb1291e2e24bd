import Foundation
import Testing
import TestSupport
import ZeroMQ

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct SocketTests {
    @Test func versionAndCapabilities() {
        let parts = ZMQContext.version.split(separator: ".")
        #expect(parts.count == 3)
        #expect(Int(parts[0]) == 4, "tickbus needs libzmq 4.x, found \(ZMQContext.version)")
        #expect(ZMQContext.has("ipc"))
        #expect(!ZMQContext.has("no-such-capability"))
    }

    /// `tcp://[::1]:P` (docs/security.md counts it as local) and `tcp://localhost:P` bind and
    /// connect; libzmq refused both ("No such device") without ZMQ_IPV6 and a numeric address.
    @Test(arguments: ["tcp://[::1]:*", "tcp://localhost:*"])
    func ipv6AndLocalhostEndpoints(_ address: String) throws {
        let context = try ZMQContext()
        let publisher = try Socket(context, .pub)
        try publisher.bind(address)
        let endpoint = try publisher.lastEndpoint
        #expect(endpoint.hasPrefix(address.hasPrefix("tcp://[") ? "tcp://[::1]:" : "tcp://127.0.0.1:"), "\(endpoint)")
        #expect(Endpoint(.bind, address).isLocal)
        let subscriber = try Socket(context, .sub)
        try subscriber.subscribe("")
        try subscriber.connect(address.hasPrefix("tcp://[") ? endpoint : "tcp://localhost:" + (endpoint.split(separator: ":").last ?? ""))
        try subscriber.setReceiveTimeout(milliseconds: 100)
        var received: String?
        for _ in 0..<50 where received == nil {
            _ = try publisher.send("hello")
            received = try subscriber.receiveString()
        }
        #expect(received == "hello")
    }

    @Test func tcpWildcardBindReportsRealPort() throws {
        let context = try ZMQContext()
        let socket = try Socket(context, .pub)
        try socket.bind("tcp://127.0.0.1:*")
        let endpoint = try socket.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        let port = Int(endpoint.split(separator: ":").last ?? "")
        #expect(port != nil && port! > 0 && port! < 65536, "\(endpoint)")
    }

    @Test(arguments: Transport.allCases)
    func pubSub(_ transport: Transport) throws {
        let context = try ZMQContext()
        let (bindEndpoint, path) = transport.bindEndpoint("pubsub")
        defer { if let path { unlink(path) } }
        let publisher = try Socket(context, .pub)
        try publisher.bind(bindEndpoint)
        let endpoint = try publisher.lastEndpoint
        if transport != .tcp { #expect(endpoint == bindEndpoint) }

        let subscriber = try Socket(context, .sub)
        try subscriber.subscribe("A.")
        try subscriber.connect(endpoint)
        let probe = bytes("A.probe")
        #expect(try sendUntilReceived(publisher, subscriber, probe: probe) == probe)

        for i in 1...5 {
            try publisher.send("B.filtered\(i)")
            try publisher.send("A.\(i)")
        }
        var received: [String] = []
        while received.count < 5, let frame = try receiveString(subscriber, within: 2000) {
            if frame != "A.probe" { received.append(frame) }
        }
        #expect(received == ["A.1", "A.2", "A.3", "A.4", "A.5"])
        // Nothing else arrives: the B. frames were filtered by the publisher.
        while let frame = try receiveString(subscriber, within: 100) {
            #expect(frame == "A.probe")
        }
    }

    @Test func multipartRoundTrip() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("multipart")
        let a = try Socket(context, .pair)
        try a.bind(endpoint)
        let b = try Socket(context, .pair)
        try b.connect(endpoint)

        let frames: [[UInt8]] = [bytes("first"), [], [0, 1, 2, 255], bytes("last")]
        #expect(try a.send(multipart: frames))
        #expect(try receiveMultipart(b, within: 2000) == frames)

        // Frame by frame, the more flag is set on every frame but the last.
        #expect(try a.send(multipart: [bytes("x"), bytes("y")]))
        #expect(try receiveBytes(b, within: 2000) == bytes("x"))
        #expect(b.hasMoreFrames)
        #expect(try receiveBytes(b, within: 2000) == bytes("y"))
        #expect(!b.hasMoreFrames)

        // A single frame is a one-part message.
        try b.send("solo")
        #expect(try receiveMultipart(a, within: 2000) == [bytes("solo")])
    }

    @Test func nonBlockingReceiveReturnsNil() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("nonblocking")
        let pull = try Socket(context, .pull)
        try pull.bind(endpoint)
        let start = nowMilliseconds()
        #expect(try pull.receiveBytes(flags: .dontWait) == nil)
        #expect(try pull.receiveString(flags: .dontWait) == nil)
        #expect(try pull.receiveMultipart(flags: .dontWait) == nil)
        #expect(try !pull.isReadable)
        #expect(nowMilliseconds() - start < 500)

        let push = try Socket(context, .push)
        try push.connect(endpoint)
        try push.send("one")
        let poller = Poller()
        poller.add(pull)
        #expect(try poller.poll(timeoutMilliseconds: 2000) == 1)
        #expect(try pull.isReadable)
        #expect(try pull.receiveString(flags: .dontWait) == "one")
        #expect(try pull.receiveString(flags: .dontWait) == nil)
    }

    @Test func receiveTimeoutReturnsNil() throws {
        let context = try ZMQContext()
        let pull = try Socket(context, .pull)
        try pull.bind(uniqueInproc("rcvtimeo"))
        try pull.setReceiveTimeout(milliseconds: 100)
        let start = nowMilliseconds()
        #expect(try pull.receiveBytes() == nil)
        let elapsed = nowMilliseconds() - start
        #expect(elapsed >= 90 && elapsed < 1500, "waited \(elapsed) ms for a 100 ms timeout")
    }

    @Test func sendTimeoutAndDontWaitWithoutPeer() throws {
        let context = try ZMQContext()
        let push = try Socket(context, .push)
        try push.bind(uniqueInproc("nopeer"))
        #expect(try push.send("x", flags: .dontWait) == false)
        try push.setSendTimeout(milliseconds: 50)
        let start = nowMilliseconds()
        #expect(throws: ZMQError.again) { try push.send("x") }
        #expect(nowMilliseconds() - start < 1500)
    }

    @Test func bindAndConnectErrorsCarryCodeAndMessage() throws {
        let context = try ZMQContext()
        let socket = try Socket(context, .pub)

        let bogus = #expect(throws: ZMQError.self) { try socket.bind("tcp://bogus") }
        #expect(bogus == .invalid)
        #expect(bogus?.message.isEmpty == false)
        #expect(bogus?.message == String(cString: strerror(EINVAL)))
        #expect(bogus?.description.contains(bogus?.message ?? "?") == true)

        let scheme = #expect(throws: ZMQError.self) { try socket.bind("bogus://x") }
        #expect(scheme?.code == EPROTONOSUPPORT)
        #expect(scheme?.message.isEmpty == false)

        #expect(throws: ZMQError.invalid) { try socket.connect("tcp://127.0.0.1") }

        try socket.bind("tcp://127.0.0.1:*")
        let endpoint = try socket.lastEndpoint
        let other = try Socket(context, .pub)
        let inUse = #expect(throws: ZMQError.self) { try other.bind(endpoint) }
        #expect(inUse?.code == EADDRINUSE)
        #expect(inUse?.message.lowercased().contains("in use") == true, "\(inUse?.message ?? "")")

        // The socket is still usable after failed calls.
        #expect(try socket.lastEndpoint == endpoint)
    }

    @Test func reqRepRoundTripAndLockstep() throws {
        let context = try ZMQContext()
        let rep = try Socket(context, .rep)
        try rep.bind("tcp://127.0.0.1:*")
        let req = try Socket(context, .req)
        try req.connect(try rep.lastEndpoint)

        // REP cannot reply before it has received a request.
        #expect(throws: ZMQError.wrongState) { try rep.send("too early") }

        for i in 1...3 {
            try req.send("ping \(i)")
            // REQ must wait for the reply before sending again.
            #expect(throws: ZMQError.wrongState) { try req.send("again") }
            #expect(try receiveString(rep, within: 2000) == "ping \(i)")
            try rep.send("pong \(i)")
            #expect(try receiveString(req, within: 2000) == "pong \(i)")
        }
        #expect(ZMQError.wrongState.message.isEmpty == false)
        #expect(ZMQError.wrongState != ZMQError.terminated)
    }

    @Test func dealerRouterRoundTrip() throws {
        let context = try ZMQContext()
        let router = try Socket(context, .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint

        let dealer = try Socket(context, .dealer)
        try dealer.setOption(5 /* ZMQ_ROUTING_ID */, bytes: bytes("dealer-1"))
        try dealer.connect(endpoint)
        let anonymous = try Socket(context, .dealer)
        try anonymous.connect(endpoint)

        try dealer.send(multipart: [bytes("hello"), bytes("world")])
        let request = try receiveMultipart(router, within: 2000)
        #expect(request == [bytes("dealer-1"), bytes("hello"), bytes("world")])

        try anonymous.send("anon")
        let anonRequest = try #require(try receiveMultipart(router, within: 2000))
        #expect(anonRequest.count == 2)
        #expect(anonRequest[0].count == 5 && anonRequest[0][0] == 0, "libzmq's generated routing id")
        #expect(anonRequest[1] == bytes("anon"))

        // Replies are routed by id to the right dealer only.
        try router.send(multipart: [anonRequest[0], bytes("to anon")])
        try router.send(multipart: [bytes("dealer-1"), bytes("reply"), bytes("2")])
        #expect(try receiveMultipart(dealer, within: 2000) == [bytes("reply"), bytes("2")])
        #expect(try receiveMultipart(anonymous, within: 2000) == [bytes("to anon")])
        #expect(try dealer.receiveBytes(flags: .dontWait) == nil)
    }

    @Test func xpubSeesSubscriptionsAndUnsubscriptions() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("xpub")
        let xpub = try Socket(context, .xpub)
        try xpub.bind(endpoint)
        let sub = try Socket(context, .sub)
        try sub.connect(endpoint)

        try sub.subscribe("T.AAPL ")
        #expect(try receiveBytes(xpub, within: 2000) == [1] + bytes("T.AAPL "))
        try sub.subscribe("Q.")
        #expect(try receiveBytes(xpub, within: 2000) == [1] + bytes("Q."))
        try sub.subscribe([])
        #expect(try receiveBytes(xpub, within: 2000) == [1])

        try sub.unsubscribe("T.AAPL ")
        #expect(try receiveBytes(xpub, within: 2000) == [0] + bytes("T.AAPL "))

        // Without XPUB_VERBOSE a second subscriber to the same prefix is not reported.
        let second = try Socket(context, .sub)
        try second.connect(endpoint)
        try second.subscribe("Q.")
        #expect(try receiveBytes(xpub, within: 200) == nil)

        // Messages go only to matching subscriptions.
        try xpub.send("Q.MSFT x")
        #expect(try receiveString(sub, within: 2000) == "Q.MSFT x")
        #expect(try receiveString(second, within: 2000) == "Q.MSFT x")
    }

    @Test func xpubVerboseReportsEverySubscription() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("xpub-verbose")
        let xpub = try Socket(context, .xpub)
        try xpub.setXPubVerbose(true)
        try xpub.bind(endpoint)
        let first = try Socket(context, .sub)
        try first.connect(endpoint)
        let second = try Socket(context, .sub)
        try second.connect(endpoint)
        try first.subscribe("H.")
        #expect(try receiveBytes(xpub, within: 2000) == [1] + bytes("H."))
        try second.subscribe("H.")
        #expect(try receiveBytes(xpub, within: 2000) == [1] + bytes("H."))
    }

    @Test func xpubNoDropRefusesAtHighWaterMark() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("nodrop")
        let xpub = try Socket(context, .xpub)
        try xpub.setSendHighWaterMark(10)
        try xpub.setXPubNoDrop(true)
        try xpub.bind(endpoint)
        let sub = try Socket(context, .sub)
        try sub.setReceiveHighWaterMark(10)
        try sub.connect(endpoint)
        try sub.subscribe([])
        #expect(try receiveBytes(xpub, within: 2000) == [1])

        var accepted = 0
        var refused = false
        let start = nowMilliseconds()
        for i in 0..<10_000 {
            if try xpub.send("m\(i)", flags: .dontWait) {
                accepted += 1
            } else {
                refused = true
                break
            }
        }
        #expect(refused, "XPUB_NODROP with DONTWAIT must refuse at the high-water mark")
        #expect(accepted >= 10 && accepted <= 100, "accepted \(accepted) with HWM 10+10")
        #expect(nowMilliseconds() - start < 1000, "a refused send must not block")

        // Nothing was dropped: the subscriber gets every accepted message, in order.
        var received = 0
        while let frame = try receiveString(sub, within: 200) {
            #expect(frame == "m\(received)")
            received += 1
        }
        #expect(received == accepted)

        // Once drained, the publisher can send again.
        let deadline = nowMilliseconds() + 2000
        var sentAgain = false
        while !sentAgain && nowMilliseconds() < deadline {
            sentAgain = try xpub.send("again", flags: .dontWait)
            if !sentAgain { Thread.sleep(forTimeInterval: 0.005) }
        }
        #expect(sentAgain)
        #expect(try receiveString(sub, within: 2000) == "again")
    }

    @Test func xpubWithoutNoDropDropsSilently() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("drop")
        let xpub = try Socket(context, .xpub)
        try xpub.setSendHighWaterMark(10)
        try xpub.bind(endpoint)
        let sub = try Socket(context, .sub)
        try sub.setReceiveHighWaterMark(10)
        try sub.connect(endpoint)
        try sub.subscribe([])
        #expect(try receiveBytes(xpub, within: 2000) == [1])

        for i in 0..<1000 {
            #expect(try xpub.send("m\(i)", flags: .dontWait), "a plain XPUB never refuses")
        }
        var received: [String] = []
        while let frame = try receiveString(sub, within: 200) { received.append(frame) }
        #expect(received.count >= 10 && received.count < 1000, "received \(received.count)")
        #expect(received.first == "m0")
    }

    @Test func pollerReportsSocketReadiness() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("poll")
        let a = try Socket(context, .pair)
        try a.bind(endpoint)
        let b = try Socket(context, .pair)
        try b.connect(endpoint)
        let c = try Socket(context, .pull)
        try c.bind(uniqueInproc("poll-idle"))

        let poller = Poller()
        let bIndex = poller.add(b)
        let cIndex = poller.add(c)
        #expect(bIndex == 0 && cIndex == 1)
        #expect(try poller.poll(timeoutMilliseconds: 0) == 0)
        #expect(!poller.isReadable(bIndex) && !poller.isReadable(cIndex))

        let start = nowMilliseconds()
        #expect(try poller.poll(timeoutMilliseconds: 50) == 0)
        let waited = nowMilliseconds() - start
        #expect(waited >= 40 && waited < 1500, "poll(50) took \(waited) ms")

        try a.send("ready")
        #expect(try poller.poll(timeoutMilliseconds: 2000) == 1)
        #expect(poller.isReadable(bIndex))
        #expect(!poller.isReadable(cIndex))
        #expect(try b.receiveString(flags: .dontWait) == "ready")
        #expect(try poller.poll(timeoutMilliseconds: 0) == 0)
        #expect(!poller.isReadable(bIndex))
    }

    @Test func pollerReportsPipeReadiness() throws {
        let context = try ZMQContext()
        let socket = try Socket(context, .pull)
        try socket.bind(uniqueInproc("poll-fd"))
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }

        let poller = Poller()
        let socketIndex = poller.add(socket)
        let pipeIndex = poller.add(fileDescriptor: fds[0])
        #expect(try poller.poll(timeoutMilliseconds: 0) == 0)
        #expect(!poller.isReadable(pipeIndex))

        var byte: UInt8 = 42
        #expect(write(fds[1], &byte, 1) == 1)
        #expect(try poller.poll(timeoutMilliseconds: 2000) == 1)
        #expect(poller.isReadable(pipeIndex))
        #expect(!poller.isReadable(socketIndex))

        var readBack: UInt8 = 0
        #expect(read(fds[0], &readBack, 1) == 1)
        #expect(readBack == 42)
        #expect(try poller.poll(timeoutMilliseconds: 0) == 0)
        #expect(!poller.isReadable(pipeIndex))
    }
}

@Suite struct CurveTests {
    static let z85Alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

    @Test(.enabled(if: ZMQContext.has("curve"), "libzmq built without CURVE"))
    func keyPairs() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.count == 40)
        #expect(pair.secretKey.count == 40)
        #expect(pair.publicKey.allSatisfy { Self.z85Alphabet.contains($0) })
        #expect(pair.secretKey.allSatisfy { Self.z85Alphabet.contains($0) })
        #expect(pair.publicKey != pair.secretKey)

        let derived = try CurveKeyPair(secretKey: pair.secretKey)
        #expect(derived == pair)
        #expect(derived.publicKey == pair.publicKey)

        let other = try CurveKeyPair.generate()
        #expect(other.publicKey != pair.publicKey && other.secretKey != pair.secretKey)

        // A secret key that is not Z85 is refused.
        #expect(throws: ZMQError.self) { try CurveKeyPair(secretKey: "abc") }
    }

    @Test(.enabled(if: ZMQContext.has("curve"), "libzmq built without CURVE"))
    func onlyClientsWithTheServerKeyReceive() throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let publisher = try Socket(context, .pub)
        try publisher.makeCurveServer(secretKey: server.secretKey)
        try publisher.bind("tcp://127.0.0.1:*")
        let endpoint = try publisher.lastEndpoint

        let secure = try Socket(context, .sub)
        try secure.makeCurveClient(serverKey: server.publicKey, keyPair: try CurveKeyPair.generate())
        try secure.subscribe([])
        try secure.connect(endpoint)

        let plain = try Socket(context, .sub)
        try plain.subscribe([])
        try plain.connect(endpoint)

        let wrongKey = try Socket(context, .sub)
        try wrongKey.makeCurveClient(serverKey: try CurveKeyPair.generate().publicKey, keyPair: try CurveKeyPair.generate())
        try wrongKey.subscribe([])
        try wrongKey.connect(endpoint)

        let probe = bytes("T.probe")
        #expect(try sendUntilReceived(publisher, secure, probe: probe) == probe)

        // Keep publishing for a while: the secure client gets everything, the others nothing.
        var secureCount = 0
        let deadline = nowMilliseconds() + 300
        var i = 0
        while nowMilliseconds() < deadline {
            try publisher.send("T.secret \(i)", flags: .dontWait)
            i += 1
            while let frame = try secure.receiveString(flags: .dontWait) {
                if frame != "T.probe" { secureCount += 1 }
            }
            #expect(try plain.receiveBytes(flags: .dontWait) == nil)
            #expect(try wrongKey.receiveBytes(flags: .dontWait) == nil)
            Thread.sleep(forTimeInterval: 0.01)
        }
        while secureCount < i, let frame = try receiveString(secure, within: 1000) {
            if frame != "T.probe" { secureCount += 1 }
        }
        #expect(secureCount == i)
        #expect(try receiveBytes(plain, within: 50) == nil)
        #expect(try receiveBytes(wrongKey, within: 50) == nil)
    }
}

@Suite struct ContextTests {
    enum Outcome: Equatable, Sendable {
        case waiting, received, timedOut, threw(ZMQError), other(String)
    }

    @Test func shutdownInterruptsBlockingReceiveOnAnotherThread() throws {
        let context = try ZMQContext()
        let endpoint = uniqueInproc("shutdown")
        let ready = DispatchSemaphore(value: 0)
        let outcome = Box<Outcome>(.waiting)
        let thread = TestThread("blocked-receiver") {
            do {
                let socket = try Socket(context, .pull)
                try socket.bind(endpoint)
                // A long timeout keeps the test from hanging if shutdown did nothing.
                try socket.setReceiveTimeout(milliseconds: 10_000)
                ready.signal()
                outcome.value = try socket.receiveBytes() == nil ? .timedOut : .received
            } catch let error as ZMQError {
                outcome.value = .threw(error)
            } catch {
                outcome.value = .other("\(error)")
            }
        }
        #expect(ready.wait(timeout: .now() + 5) == .success)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(outcome.value == .waiting)

        let start = nowMilliseconds()
        context.shutdown()
        #expect(thread.wait(seconds: 5))
        #expect(outcome.value == .threw(.terminated))
        #expect(nowMilliseconds() - start < 2000)

        // A shut-down context makes no new sockets.
        #expect(throws: ZMQError.terminated) { try Socket(context, .pub) }
        #expect(ZMQError.terminated.message.isEmpty == false)
    }
}
