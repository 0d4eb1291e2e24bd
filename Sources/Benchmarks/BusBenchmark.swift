import Bus
import Foundation
import Synchronization
import TickBusCore
import ZeroMQ

/// Messages per second through the bus (Publisher → Subscriber: stamping, encoding, decoding,
/// gap checks) against raw libzmq frames of the same size, publisher and subscriber on two threads.
/// Both publishers wait at the high-water mark (`XPUB_NODROP`) instead of dropping, so neither
/// loses a message and the figures are lossless rates.
public enum BusBenchmark {
    public static func run(count: Int, transports: [String] = ["tcp", "ipc"], repeats: Int = 3) throws -> [Figure] {
        let context = try ZMQContext(ioThreads: 1)
        var figures: [Figure] = []
        for transport in transports {
            var raw: [Double] = []
            var bus: [Double] = []
            for run in 0..<repeats {
                raw.append(try measure(context, endpoint(transport, "raw", run), count: count, side: RawSide()))
                bus.append(try measure(context, endpoint(transport, "bus", run), count: count, side: BusSide()))
            }
            let rawRate = median(raw), busRate = median(bus)
            figures.append(Figure(name: "bus: raw libzmq frames (\(transport))", value: rawRate, unit: "msgs/s"))
            figures.append(Figure(name: "bus: trade records (\(transport))", value: busRate, unit: "msgs/s",
                                  baseline: rawRate, target: ">= 80% of raw"))
        }
        return figures
    }

    private static func endpoint(_ transport: String, _ name: String, _ run: Int) -> String {
        switch transport {
        case "ipc": "ipc:///tmp/tickbus-bench-\(getpid())-\(name)-\(run)"
        case "inproc": "inproc://bench-\(name)-\(run)"
        default: "tcp://127.0.0.1:*"
        }
    }

    static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }

    /// Runs one publisher thread and one subscriber thread; returns messages per second.
    static func measure(_ context: ZMQContext, _ endpoint: String, count: Int, side: some BenchSide) throws -> Double {
        let bound = Mutex<Result<String, any Error>?>(nil)
        let boundSignal = DispatchSemaphore(value: 0)
        let startedAt = Mutex<Int64>(0)
        let finishedAt = Mutex<Result<Int64, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let publisherDone = DispatchSemaphore(value: 0)

        let publisherThread = Thread {
            defer { publisherDone.signal() }
            do {
                let sender = try side.makeSender(context, endpoint)
                bound.withLock { $0 = .success(sender.endpoint) }
                boundSignal.signal()
                guard try sender.waitForSubscriber() else { return }
                startedAt.withLock { $0 = MonotonicClock.nanoseconds() }
                try sender.send(count: count)
                done.wait()
            } catch {
                bound.withLock { $0 = $0 ?? .failure(error) }
                boundSignal.signal()
            }
        }
        publisherThread.name = "bench-publisher"
        publisherThread.start()
        boundSignal.wait()
        let connectTo = try bound.withLock { $0! }.get()

        let subscriberThread = Thread {
            do {
                let receiver = try side.makeReceiver(context, connectTo)
                try receiver.receive(count: count)
                finishedAt.withLock { $0 = .success(MonotonicClock.nanoseconds()) }
            } catch {
                finishedAt.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        subscriberThread.name = "bench-subscriber"
        subscriberThread.start()
        publisherDone.wait()
        let end = try finishedAt.withLock { $0 ?? .failure(BenchmarkError.noSubscriber) }.get()
        let start = startedAt.withLock { $0 }
        return Double(count) / (Double(end - start) / 1e9)
    }
}

/// Queue length on each side; the publisher waits when it is full.
private let highWaterMark: Int32 = 10_000

enum BenchmarkError: Error, CustomStringConvertible {
    case noSubscriber
    case lost(Int)
    case failed(String)

    var description: String {
        switch self {
        case .noSubscriber: "the benchmark subscriber never connected"
        case .lost(let n): "the benchmark lost \(n) messages"
        case .failed(let why): why
        }
    }
}

protocol BenchSender {
    var endpoint: String { get }
    func waitForSubscriber() throws -> Bool
    func send(count: Int) throws
}

protocol BenchReceiver {
    func receive(count: Int) throws
}

protocol BenchSide: Sendable {
    func makeSender(_ context: ZMQContext, _ endpoint: String) throws -> any BenchSender
    func makeReceiver(_ context: ZMQContext, _ endpoint: String) throws -> any BenchReceiver
}

/// Raw libzmq: a prebuilt frame the size of a trade message, XPUB → SUB.
struct RawSide: BenchSide {
    final class Sender: BenchSender {
        let socket: Socket
        let endpoint: String
        let frame: [UInt8]

        init(_ context: ZMQContext, _ endpoint: String) throws {
            socket = try Socket(context, .xpub)
            try socket.setSendHighWaterMark(highWaterMark)
            try socket.setXPubNoDrop(true)
            try socket.bind(endpoint)
            self.endpoint = try socket.lastEndpoint
            frame = BusMessage.encode(SampleRecords.trade(0, now: 0))
        }

        func waitForSubscriber() throws -> Bool {
            try socket.setReceiveTimeout(milliseconds: 5000)
            return try socket.receiveBytes() != nil
        }

        func send(count: Int) throws {
            try frame.withUnsafeBytes { bytes in
                for _ in 0..<count { try socket.send(bytes) }
            }
        }
    }

    final class Receiver: BenchReceiver {
        let socket: Socket

        init(_ context: ZMQContext, _ endpoint: String) throws {
            socket = try Socket(context, .sub)
            try socket.setReceiveHighWaterMark(highWaterMark)
            try socket.subscribe("T.")
            try socket.connect(endpoint)
            try socket.setReceiveTimeout(milliseconds: 5000)
        }

        func receive(count: Int) throws {
            var bytes = 0
            for received in 0..<count {
                guard let n = try socket.receive({ $0.count }) else { throw BenchmarkError.lost(count - received) }
                bytes &+= n
            }
        }
    }

    func makeSender(_ context: ZMQContext, _ endpoint: String) throws -> any BenchSender {
        try Sender(context, endpoint)
    }

    func makeReceiver(_ context: ZMQContext, _ endpoint: String) throws -> any BenchReceiver {
        try Receiver(context, endpoint)
    }
}

/// The bus: ``Publisher`` → ``Subscriber`` with trade records.
struct BusSide: BenchSide {
    final class Sender: BenchSender {
        let publisher: Publisher
        var endpoint: String { publisher.endpoints[0] }

        init(_ context: ZMQContext, _ endpoint: String) throws {
            publisher = try Publisher(
                context: context,
                configuration: .init(name: "bench", endpoints: [endpoint], sendHighWaterMark: highWaterMark, lossless: true))
        }

        func waitForSubscriber() throws -> Bool {
            try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(5))
        }

        func send(count: Int) throws {
            let now = WallClock.nanoseconds()
            let records = (0..<1024).map { SampleRecords.trade($0, now: now) }
            for i in 0..<count { try publisher.publish(records[i & 1023]) }
        }
    }

    final class Receiver: BenchReceiver {
        let subscriber: Subscriber

        init(_ context: ZMQContext, _ endpoint: String) throws {
            subscriber = try Subscriber(
                context: context,
                configuration: .init(endpoints: [endpoint], filters: [try TopicFilter("T.")], receiveHighWaterMark: highWaterMark))
        }

        func receive(count: Int) throws {
            var received = 0
            while received < count {
                guard let event = try subscriber.next(timeout: .seconds(5)) else {
                    throw BenchmarkError.lost(count - received)
                }
                if case .record = event { received += 1 }
            }
            if subscriber.counters.lost > 0 { throw BenchmarkError.lost(Int(subscriber.counters.lost)) }
        }
    }

    func makeSender(_ context: ZMQContext, _ endpoint: String) throws -> any BenchSender {
        try Sender(context, endpoint)
    }

    func makeReceiver(_ context: ZMQContext, _ endpoint: String) throws -> any BenchReceiver {
        try Receiver(context, endpoint)
    }
}
