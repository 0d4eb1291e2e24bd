import Bus
import Foundation
import TickBusCore
import ZeroMQ

/// Messages per second Publisher → `tickbus proxy` (libzmq's XSUB/XPUB forwarder on its own
/// thread) → Subscriber, against Publisher → Subscriber directly, over tcp on loopback. Lossless
/// like `bench bus`: the publisher and the proxy wait at the high-water mark.
public enum ProxyBenchmark {
    public static func run(count: Int, repeats: Int = 3) throws -> [Figure] {
        let context = try ZMQContext(ioThreads: 1)
        var direct: [Double] = []
        var proxied: [Double] = []
        for _ in 0..<repeats {
            direct.append(try BusBenchmark.measure(context, "tcp://127.0.0.1:*", count: count, side: BusSide()))
            proxied.append(try BusBenchmark.measure(context, "tcp://127.0.0.1:*", count: count, side: ProxiedSide()))
        }
        let directRate = BusBenchmark.median(direct)
        return [
            Figure(name: "proxy: trade records direct (tcp)", value: directRate, unit: "msgs/s"),
            Figure(name: "proxy: trade records through tickbus proxy (tcp)", value: BusBenchmark.median(proxied),
                   unit: "msgs/s", baseline: directRate, target: ">= 60% of direct"),
        ]
    }
}

/// ``BusSide``'s publisher; the receiving side runs a ``BusProxy`` connected to it and a
/// ``Subscriber`` on the proxy's backend. The proxy has a ZeroMQ context (and I/O thread) of its
/// own, as the separate process `tickbus proxy` has.
struct ProxiedSide: BenchSide {
    final class Receiver: BenchReceiver {
        let proxy: BusProxy
        let finished = DispatchSemaphore(value: 0)
        let subscriber: BusSide.Receiver

        init(_ context: ZMQContext, _ publisher: String) throws {
            proxy = try BusProxy(context: try ZMQContext(ioThreads: 1), configuration: .init(
                frontend: [Endpoint(.connect, publisher)], backend: [Endpoint(.bind, "tcp://127.0.0.1:*")],
                highWaterMark: 10_000, lossless: true))
            let opened = DispatchSemaphore(value: 0)
            let backend = Box<String?>(nil)
            let proxy = proxy, finished = finished
            let thread = Thread {
                defer { finished.signal() }
                try? proxy.run { _, b in
                    backend.value = b.first?.address
                    opened.signal()
                }
                opened.signal()
            }
            thread.name = "bench-proxy"
            thread.start()
            opened.wait()
            guard let address = backend.value else { throw BenchmarkError.failed("the benchmark proxy did not start") }
            subscriber = try BusSide.Receiver(context, address)
        }

        func receive(count: Int) throws {
            defer {
                proxy.terminate()
                finished.wait()
            }
            try subscriber.receive(count: count)
        }
    }

    func makeSender(_ context: ZMQContext, _ endpoint: String) throws -> any BenchSender {
        try BusSide.Sender(context, endpoint)
    }

    func makeReceiver(_ context: ZMQContext, _ endpoint: String) throws -> any BenchReceiver {
        try Receiver(context, endpoint)
    }
}

/// A value handed from one thread to another.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
