import Foundation
import Synchronization
import Testing

// Helpers shared by the test targets.

/// SplitMix64: a tiny seeded generator, so fuzz and random tests repeat exactly.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<n` (the next value modulo `n`).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }
}

private let nameCounter = Atomic<Int>(0)

/// A name no other test (in this process or another) uses: pid + a process-wide counter.
public func uniqueName(_ label: String) -> String {
    "\(label)-\(getpid())-\(nameCounter.add(1, ordering: .relaxed).newValue)"
}

/// An inproc endpoint unique to one test.
public func uniqueInproc(_ label: String) -> String { "inproc://" + uniqueName(label) }

/// An ipc endpoint unique to one test, under /tmp (short enough for sun_path).
public func uniqueIPC(_ label: String) -> (endpoint: String, path: String) {
    let path = "/tmp/tb-" + uniqueName(label) + ".sock"
    return ("ipc://" + path, path)
}

/// The transports tickbus binds; every test gets its own endpoint so tests can run in parallel.
public enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case tcp, ipc, inproc

    public var testDescription: String { rawValue }

    /// An endpoint to bind and the ipc file to remove afterwards (if any).
    public func bindEndpoint(_ label: String) -> (endpoint: String, path: String?) {
        switch self {
        case .tcp: return ("tcp://127.0.0.1:*", nil)
        case .ipc:
            let (endpoint, path) = uniqueIPC(label)
            return (endpoint, path)
        case .inproc: return (uniqueInproc(label), nil)
        }
    }
}

/// Monotonic milliseconds, for deadlines and elapsed-time checks.
public func nowMilliseconds() -> Int64 {
    Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
}

/// A value set by one thread and read by another.
public final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    public init(_ value: Value) { storage = Mutex(value) }
    public var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    @discardableResult
    public func update<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
}

/// Runs `body` on a new Foundation thread; `wait(seconds:)` joins it with a time limit.
public final class TestThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    public init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the thread finished within `seconds`.
    public func wait(seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}

private let portsHandedOut = Mutex<Set<Int>>([])

/// A TCP port on 127.0.0.1 for a test's server: nothing listens on it now, no other test of this
/// process got it, and it lies below the kernel's ephemeral range (32768 up), where no outgoing
/// connection of a parallel test can take it before the server binds.
public func freeTCPPort() -> Int {
    while true {
        let port = Int.random(in: 20_000...32_000)
        guard portsHandedOut.withLock({ $0.insert(port).inserted }) else { continue }
        if onLoopback(port: port, bind) { return port }
    }
}

/// Whether `call` (`bind` or `connect`) succeeds for a new TCP socket and 127.0.0.1:`port`; the
/// socket is closed after.
public func onLoopback(port: Int, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Whether two lists are equal; when not, records an issue that says where they part instead of
/// printing both (lists of thousands of records).
public func sameElements<T: Equatable>(_ a: [T], _ b: [T], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard a != b else { return true }
    let at = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    Issue.record("\(a.count) elements, expected \(b.count); they differ from element \(at)", sourceLocation: sourceLocation)
    return false
}
