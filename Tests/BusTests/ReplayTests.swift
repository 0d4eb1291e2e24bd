import Bus
import Foundation
import Journal
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// A publisher service that journals and serves replays, on loopback ports of its own.
private func replayingPublisher(_ context: ZMQContext, _ label: String, security: CurveSecurity? = nil) throws -> PublisherService {
    try PublisherService(context: context, configuration: .init(
        name: "ingest", endpoints: ["tcp://127.0.0.1:*"], security: security,
        journal: .init(directory: NSTemporaryDirectory() + "tickbus-replay-\(label)-\(UUID().uuidString)"),
        replayEndpoints: ["tcp://127.0.0.1:*"]))
}

/// Submits `count` trades over `symbols` in turn and waits until the journal holds them all.
private func publish(_ service: PublisherService, count: Int, symbols: [String] = ["AAPL", "MSFT", "SPY"]) throws -> [Record] {
    var sent: [Record] = []
    var sequences: [String: UInt64] = [:]
    for i in 0..<count {
        let symbol = symbols[i % symbols.count]
        let record = trade(symbol, i)
        while !service.submit(record) { sleep(milliseconds: 1) }
        sequences[symbol, default: 0] += 1
        sent.append(stamped(record, epoch: service.epoch, sequence: sequences[symbol]!))
    }
    let journal = try #require(service.journal)
    let deadline = nowMilliseconds() + 30_000
    while journal.counters.messages < UInt64(count) && nowMilliseconds() < deadline { sleep(milliseconds: 5) }
    #expect(journal.counters.messages == UInt64(count))
    return sent
}

/// Everything a replay hands out until its end.
private func replay(_ client: ReplayClient, _ request: ReplayRequest) throws -> (records: [Record], holes: [ReplayHole], end: ReplayEnd?) {
    var records: [Record] = []
    var holes: [ReplayHole] = []
    var end: ReplayEnd?
    try client.start(request)
    while try client.receive({ item in
        switch item {
        case .message(let bytes): records.append(try BusMessage.decode(bytes))
        case .hole(let hole): holes.append(hole)
        case .end(let e): end = e
        }
    }) {}
    return (records, holes, end)
}

@Suite struct ReplayTests {
    @Test func aReplayFromTheBeginningGivesEveryRecordPublishedThenItsEnd() throws {
        let context = try ZMQContext()
        let service = try replayingPublisher(context, "all")
        defer { service.stop() }
        let sent = try publish(service, count: 12_000)
        let client = try ReplayClient(context: context, endpoint: try #require(service.replay?.endpoints.first))
        let got = try replay(client, ReplayRequest(start: .beginning))
        #expect(sameElements(got.records, sent))
        #expect(got.end?.messages == 12_000)
        #expect(got.holes.isEmpty)
        // The same client can ask again.
        #expect(try replay(client, ReplayRequest(start: .beginning, credit: 1)).records.count == 12_000)
        #expect(service.replay?.snapshot.completed == 2)
    }

    @Test func filtersAndSequencesOfAnEpochChooseWhatComesBack() throws {
        let context = try ZMQContext()
        let service = try replayingPublisher(context, "after")
        defer { service.stop() }
        let sent = try publish(service, count: 9000)
        let client = try ReplayClient(context: context, endpoint: try #require(service.replay?.endpoints.first))
        let msft = try replay(client, ReplayRequest(filters: [filter("T.MSFT")], start: .beginning))
        #expect(sameElements(msft.records, sent.filter { $0.topic == "T.MSFT" }))
        let after = try replay(client, ReplayRequest(
            filters: [filter("T.AAPL"), filter("T.SPY")],
            start: .after(epoch: service.epoch, sequences: [try Topic(parsing: "T.AAPL"): 2990, try Topic(parsing: "T.SPY"): 3000])))
        #expect(sameElements(after.records, sent.filter { $0.topic == "T.AAPL" && $0.header.sequence > 2990 }))
        #expect(throws: ReplayError.self) {
            try replay(client, ReplayRequest(start: .after(epoch: service.epoch &+ 1, sequences: [:])))
        }
    }

    @Test func aClientThatStopsReadingHoldsUpNobodyElse() throws {
        let context = try ZMQContext()
        let service = try replayingPublisher(context, "slow")
        defer { service.stop() }
        _ = try publish(service, count: 20_000)
        let endpoint = try #require(service.replay?.endpoints.first)
        let stalled = try ReplayClient(context: context, endpoint: endpoint)
        try stalled.start(ReplayRequest(start: .beginning, credit: 2))
        let others = try (0..<3).map { _ in try ReplayClient(context: context, endpoint: endpoint) }
        for other in others { #expect(try replay(other, ReplayRequest(start: .beginning)).records.count == 20_000) }
        // The stalled client was sent no more than its credit.
        var batches = 0
        while try stalled.receive({ _ in }) {
            batches += 1
            if batches == 2 { break }
        }
        #expect(batches == 2)
    }

    @Test func malformedRequestsGetAnErrorAndTheServerGoesOn() throws {
        let context = try ZMQContext()
        let service = try replayingPublisher(context, "hostile")
        defer { service.stop() }
        _ = try publish(service, count: 100)
        let endpoint = try #require(service.replay?.endpoints.first)
        let raw = try Socket(context, .dealer)
        try raw.setReceiveTimeout(milliseconds: 10_000)
        try raw.connect(endpoint)
        var random = SplitMix64(seed: 7)
        let bodies: [[[UInt8]]] = [
            [Array("REPLAY".utf8)],
            [Array("REPLAY".utf8), []],
            [Array("REPLAY".utf8), [1, 0, 9, 0]],
            [Array("REPLAY".utf8), ReplayRequest(start: .beginning).encoded() + [0]],
            [Array("REPLAY".utf8), random.bytes(300)],
            [Array("BATCH".utf8), []],
            [Array("NONSENSE".utf8), [1]],
        ]
        for frames in bodies {
            try raw.send(multipart: frames)
            let reply = try #require(try raw.receiveMultipart(), "no reply to \(frames)")
            #expect(reply.count == 2 && reply[0] == Array("ERROR".utf8), "\(reply)")
        }
        // Credit and cancel without a replay are ignored; a good request still works.
        try raw.send(multipart: [Array("CREDIT".utf8), [5, 0, 0, 0]])
        try raw.send(multipart: [Array("CANCEL".utf8), []])
        let client = try ReplayClient(context: context, endpoint: endpoint)
        #expect(try replay(client, ReplayRequest(start: .beginning)).records.count == 100)
        #expect((service.replay?.snapshot.refused ?? 0) >= UInt64(bodies.count))
    }

    @Test func aReplayOverCURVEServesAnAllowedKeyOnly() throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context, allowedClientKeys: [allowed.publicKey])
        defer { zap.stop() }
        let service = try replayingPublisher(context, "curve", security: CurveSecurity(keyPair: server))
        defer { service.stop() }
        let sent = try publish(service, count: 1000)
        let endpoint = try #require(service.replay?.endpoints.first)
        let good = try ReplayClient(context: context, endpoint: endpoint, security: CurveSecurity(keyPair: allowed, serverKey: server.publicKey))
        #expect(sameElements(try replay(good, ReplayRequest(start: .beginning)).records, sent))
        let refused = try ReplayClient(
            context: context, endpoint: endpoint, security: CurveSecurity(keyPair: stranger, serverKey: server.publicKey), timeout: .seconds(1))
        #expect(throws: ReplayError.timedOut(endpoint: endpoint, .seconds(1))) {
            try replay(refused, ReplayRequest(start: .beginning))
        }
    }
}
