import Bus
import Foundation
import TestSupport
import Testing
import TickBusCore
import ZeroMQ

/// docs/security.md through real processes: loopback-only binds, CURVE with keys from
/// `tickbus keygen` (also read by pyzmq), the control token, and the API key never leaking.
@Suite(.serialized)
struct SecurityProcessTests {

    @Test(arguments: [
        ["ingest", "--url", "ws://127.0.0.1:1/stocks", "--bus", "tcp://0.0.0.0:PORT", "--control", "none"],
        ["ingest", "--url", "ws://127.0.0.1:1/stocks", "--bus", "tcp://127.0.0.1:PORT", "--control", "tcp://*:PORT"],
        ["bars", "--publish", "tcp://10.1.2.3:PORT"],
        ["proxy", "--frontend", "tcp://127.0.0.1:1", "--backend", "tcp://0.0.0.0:PORT"],
        ["proxy", "--frontend-bind", "tcp://eth0:PORT"],
    ])
    func aBindOtherHostsCanReachIsRefusedWithoutCurveOrInsecure(_ arguments: [String]) async throws {
        let port = "\(freeTCPPort())"
        let run = try TickBusProcess(arguments.map { $0.replacingOccurrences(of: "PORT", with: port) })
        let (status, _, err) = await run.wait()
        #expect(status != 0)
        #expect(err.contains("refusing to bind") && err.contains("without CURVE") && err.contains("--insecure"), "\(err)")
    }

    @Test func insecureLetsTheBindThrough() async throws {
        // 192.0.2.1 (TEST-NET-1) is not on this host: the bind itself fails, after the check passed.
        let run = try TickBusProcess(["bars", "--publish", "tcp://192.0.2.1:\(freeTCPPort())", "--insecure"])
        let (status, _, err) = await run.wait()
        #expect(status != 0)
        #expect(!err.contains("refusing to bind") && err.contains("cannot bind tcp://192.0.2.1"), "\(err)")
    }

    /// A temporary directory with key pairs from `tickbus keygen`.
    func keys(_ names: [String]) async throws -> String {
        let directory = NSTemporaryDirectory() + "tickbus-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/clients", withIntermediateDirectories: true)
        for name in names {
            let (status, out, err) = await (try TickBusProcess(["keygen", name, "--directory", directory])).wait()
            #expect(status == 0 && out.contains("public key"), "\(err)")
        }
        return directory
    }

    @Test func curveBusAndControlWithAnAllowListAndAToken() async throws {
        let dir = try await keys(["ingest", "tap", "stranger"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: dir + "/tap.key", toPath: dir + "/clients/tap.key")
        let token = "tok-" + UUID().uuidString
        #expect(FileManager.default.createFile(atPath: dir + "/token", contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]))
        #expect(FileManager.default.createFile(atPath: dir + "/wrong", contents: Data("wrong-token-0123456789".utf8), attributes: [.posixPermissions: 0o600]))
        let simPort = freeTCPPort(), bus = "tcp://127.0.0.1:\(freeTCPPort())", control = "tcp://127.0.0.1:\(freeTCPPort())"
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--rate", "500", "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.interrupt(); sim.finish() }
        let ingest = try TickBusProcess([
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.*", "--bus", bus, "--control", control,
            "--state-file", dir + "/state.json", "--curve-secret-key", dir + "/ingest.key_secret",
            "--curve-allow", dir + "/clients", "--control-token-file", dir + "/token",
        ])
        defer { ingest.interrupt(); ingest.finish() }
        let asTap = ["--curve-secret-key", dir + "/tap.key_secret", "--curve-server-key", dir + "/ingest.key"]
        let asStranger = ["--curve-secret-key", dir + "/stranger.key_secret", "--curve-server-key", dir + "/ingest.key"]

        // Control: CURVE and the token, then each missing.
        var (status, out, err) = (Int32(0), "", "")
        for _ in 0..<100 {
            (status, out, err) = await (try TickBusProcess(
                ["ctl", "ping", "--endpoint", control, "--timeout", "0.5", "--control-token-file", dir + "/token"] + asTap)).wait()
            if status == 0 { break }
        }
        #expect(status == 0 && out.contains("ingest"), "\(out) \(err)")
        (status, _, err) = await (try TickBusProcess(["ctl", "status", "--endpoint", control] + asTap)).wait()
        #expect(status == 1 && err.contains("unauthorized"), "\(err)")
        (status, _, err) = await (try TickBusProcess(
            ["ctl", "status", "--endpoint", control, "--control-token-file", dir + "/wrong"] + asTap)).wait()
        #expect(status == 1 && err.contains("unauthorized"), "\(err)")
        (status, _, err) = await (try TickBusProcess(
            ["ctl", "status", "--endpoint", control, "--timeout", "1", "--control-token-file", dir + "/token"])).wait()
        #expect(status == 2, "no CURVE: no reply. \(err)")
        (status, _, err) = await (try TickBusProcess(
            ["ctl", "status", "--endpoint", control, "--timeout", "1", "--control-token-file", dir + "/token"] + asStranger)).wait()
        #expect(status == 2, "a key not on the allow list: no reply. \(err)")

        // The bus: the stranger and a plain tap hear nothing, while the allowed tap gets records.
        let stranger = try TickBusProcess(["tap", "--endpoint", bus, "T."] + asStranger)
        let plain = try TickBusProcess(["tap", "--endpoint", bus, "T."])
        (status, out, err) = await (try TickBusProcess(["tap", "--count", "20", "--endpoint", bus, "T."] + asTap)).wait()
        #expect(status == 0, "\(err)")
        #expect(out.split(separator: "\n").filter { $0.contains(" T.") }.count == 20, "\(out)")

        // pyzmq, an independent CURVE client, reads the same certificates.
        let python = """
            import sys, zmq, zmq.auth
            pub, sec = zmq.auth.load_certificate(sys.argv[1] + "/tap.key_secret")
            server, _ = zmq.auth.load_certificate(sys.argv[1] + "/ingest.key")
            s = zmq.Context().socket(zmq.SUB)
            s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server
            s.setsockopt(zmq.SUBSCRIBE, b"T.")
            s.setsockopt(zmq.RCVTIMEO, 20000)
            s.connect(sys.argv[2])
            frames = [s.recv() for _ in range(5)]
            print(all(f.startswith(b"T.") and b" " in f for f in frames))
            """
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", python, dir, bus]
        let pyOut = Pipe()
        py.standardOutput = pyOut
        try py.run()
        while py.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let pyText = String(decoding: pyOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(py.terminationStatus == 0 && pyText.contains("True"), "pyzmq: \(pyText)")

        stranger.interrupt()
        plain.interrupt()
        let (_, strangerOut, _) = await stranger.wait()
        let (_, plainOut, _) = await plain.wait()
        #expect(!strangerOut.contains(" T.") && !plainOut.contains(" T."), "\(strangerOut) \(plainOut)")
        ingest.interrupt()
        let (_, _, ingestErr) = await ingest.wait()
        #expect(ingestErr.contains("client refused") && ingestErr.contains("client key not allowed"), "\(ingestErr)")
    }

    @Test func barsReadsACurveIngestAndServesItsBarsUnderCurve() async throws {
        let dir = try await keys(["ingest", "bars", "tap"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/bars-clients", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/bars.key", toPath: dir + "/clients/bars.key")
        try FileManager.default.copyItem(atPath: dir + "/tap.key", toPath: dir + "/bars-clients/tap.key")
        let simPort = freeTCPPort(), bus = "tcp://127.0.0.1:\(freeTCPPort())", barsBus = "tcp://127.0.0.1:\(freeTCPPort())"
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--rate", "500", "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.interrupt(); sim.finish() }
        let ingest = try TickBusProcess([
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.*", "--bus", bus, "--control", "none",
            "--state-file", dir + "/state.json", "--curve-secret-key", dir + "/ingest.key_secret", "--curve-allow", dir + "/clients",
        ])
        defer { ingest.interrupt(); ingest.finish() }
        let bars = try TickBusProcess([
            "bars", "--bus", bus, "--publish", barsBus, "--intervals", "1s", "--grace", "0.2",
            "--curve-secret-key", dir + "/bars.key_secret", "--curve-server-key", dir + "/ingest.key",
            "--curve-allow", dir + "/bars-clients",
        ])
        defer { bars.interrupt(); bars.finish() }
        let tap = try TickBusProcess([
            "tap", "--endpoint", barsBus, "B1s.", "--curve-secret-key", dir + "/tap.key_secret",
            "--curve-server-key", dir + "/bars.key",
        ])
        defer { tap.interrupt(); tap.finish() }
        // A hang guard, generous for a loaded machine: sim, ingest and bars must all be up.
        let deadline = Date().addingTimeInterval(90)
        while tap.stdout.split(separator: "\n").filter({ $0.contains(" B1s.") }).count < 3 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let bars1s = tap.stdout.split(separator: "\n").filter { $0.contains(" B1s.") }
        if bars1s.count < 3 {
            bars.interrupt()
            ingest.interrupt()
            let (_, _, barsErr) = await bars.wait()
            let (_, _, ingestErr) = await ingest.wait()
            Issue.record("no bars through CURVE in 90 s. bars: \(barsErr) ingest: \(ingestErr)")
        }
    }

    @Test func aProxyServesRemoteSubscribersUnderCurveWhileReadingALocalPublisherInTheClear() async throws {
        let dir = try await keys(["proxy", "alice", "mallory"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: dir + "/alice.key", toPath: dir + "/clients/alice.key")
        let context = try ZMQContext()
        let publisher = try Publisher(context: context, configuration: .init(name: "local", endpoints: ["tcp://127.0.0.1:*"]))
        let backend = "tcp://127.0.0.1:\(freeTCPPort())"
        let proxy = try TickBusProcess([
            "proxy", "--frontend", publisher.endpoints[0], "--backend", backend,
            "--curve-secret-key", dir + "/proxy.key_secret", "--curve-allow", dir + "/clients",
        ])
        defer { proxy.interrupt(); proxy.finish() }
        let mallory = try TickBusProcess(["tap", "--endpoint", backend, "T.MSFT", "--curve-secret-key", dir + "/mallory.key_secret",
                                          "--curve-server-key", dir + "/proxy.key"])
        let plain = try TickBusProcess(["tap", "--endpoint", backend, "T.IBM"])
        let alice = try TickBusProcess(["tap", "--count", "3", "--endpoint", backend, "T.AAPL", "--curve-secret-key",
                                        dir + "/alice.key_secret", "--curve-server-key", dir + "/proxy.key"])
        defer { alice.interrupt(); alice.finish() }
        // Only alice's subscription crosses the proxy: the others never completed a handshake.
        #expect(try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(20)))
        for symbol in ["AAPL", "MSFT", "IBM"] {
            for i in 0..<3 {
                try publisher.publish(.trade(Trade(
                    header: RecordHeader(market: .stocks, tsEvent: Int64(i), tsRecv: 0, symbol: try Symbol(symbol)),
                    price: Price(units: 10), size: 1)))
            }
        }
        #expect(!publisher.subscriptions.contains(Array("T.MSFT ".utf8)) && !publisher.subscriptions.contains(Array("T.IBM ".utf8)))
        let (status, out, err) = await alice.wait()
        #expect(status == 0 && out.split(separator: "\n").count == 3 && out.contains("T.AAPL #3"), "\(out) \(err)")
        mallory.interrupt()
        plain.interrupt()
        let (_, malloryOut, _) = await mallory.wait()
        let (_, plainOut, _) = await plain.wait()
        #expect(malloryOut.isEmpty && plainOut.isEmpty, "\(malloryOut) \(plainOut)")
        proxy.interrupt()
        let (proxyStatus, _, proxyErr) = await proxy.wait()
        #expect(proxyStatus == 0 && proxyErr.contains("client refused"), "\(proxyErr)")
    }

    @Test func theMassiveAPIKeyAppearsInNoOutputNoBusMessageAndNoControlReply() async throws {
        let key = "TBKEY" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let simPort = freeTCPPort(), bus = "tcp://127.0.0.1:\(freeTCPPort())", control = "tcp://127.0.0.1:\(freeTCPPort())"
        let state = NSTemporaryDirectory() + "tickbus-key-\(UUID().uuidString)/subs.json"
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--rate", "500", "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.interrupt(); sim.finish() }
        let context = try ZMQContext()
        let everything = try Socket(context, .sub)
        try everything.subscribe("")
        try everything.connect(bus)
        let ingest = try TickBusProcess([
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.AAPL,Q.AAPL,A.*", "--bus", bus,
            "--control", control, "--state-file", state, "--log-level", "trace",
        ], environment: ["MASSIVE_API_KEY": key])
        defer { ingest.interrupt(); ingest.finish() }

        var replies: [String] = []
        var (status, out, err) = (Int32(0), "", "")
        for _ in 0..<100 {
            (status, out, err) = await (try TickBusProcess(["ctl", "ping", "--endpoint", control, "--timeout", "0.5"])).wait()
            if status == 0 { break }
        }
        #expect(status == 0, "\(err)")
        (status, out, err) = await (try TickBusProcess([
            "ctl", "backfill", "SPY", "--from", "2024-01-03", "--to", "2024-01-03", "--timespan", "minute", "--watch",
            "--endpoint", control,
        ])).wait()
        #expect(status == 0, "\(err)")
        replies += [out, err]
        for arguments in [["status", "--json"], ["status"], ["subs", "--json"], ["jobs", "--json"], ["job", "1", "--json"],
                          ["snapshot", "A.", "--json"]] {
            (status, out, err) = await (try TickBusProcess(["ctl"] + arguments + ["--endpoint", control])).wait()
            replies += [out, err]
        }
        #expect(replies.joined().contains("upstream"), "status replied")

        // Everything the bus carried meanwhile: records, S.ingest status, H.ingest heartbeats.
        var frames = 0, statuses = 0, leaks = 0
        let keyBytes = Array(key.utf8)
        let deadline = Date().addingTimeInterval(30)
        while (frames < 1000 || statuses < 3) && Date() < deadline {
            guard let frame = try everything.receiveBytes(flags: .dontWait) else {
                try await Task.sleep(for: .milliseconds(10))
                continue
            }
            frames += 1
            if frame.starts(with: Array("S.".utf8)) { statuses += 1 }
            if frame.count >= keyBytes.count,
               (0...(frame.count - keyBytes.count)).contains(where: { frame[$0..<($0 + keyBytes.count)].elementsEqual(keyBytes) }) {
                leaks += 1
            }
        }
        #expect(frames >= 1000 && statuses >= 3, "frames \(frames), statuses \(statuses)")
        #expect(leaks == 0)
        ingest.interrupt()
        let (_, ingestOut, ingestErr) = await ingest.wait()
        #expect(ingestErr.contains("authenticated"), "ingest ran against the simulator: \(ingestErr)")
        #expect(!ingestOut.contains(key) && !ingestErr.contains(key))
        #expect(!replies.joined().contains(key))
    }
}
