import Journal
import TickBusCore
import ZeroMQ

/// Something a replay delivered.
public enum ReplayItem {
    /// A bus message (topic, space, record) as published; valid only inside the callback.
    case message(UnsafeRawBufferPointer)
    /// Sequence numbers the journal does not hold.
    case hole(ReplayHole)
    /// The replay reached the journal's head: live takes over.
    case end(ReplayEnd)
}

/// Why a replay failed.
public enum ReplayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server refused the request or ended the replay.
    case refused(ReplayFailure?, String)
    /// The server sent nothing for the timeout.
    case timedOut(endpoint: String, Duration)
    /// The server sent something that does not follow the protocol.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .refused(let failure, let text): "replay refused\(failure.map { " (\($0))" } ?? ""): \(text)"
        case .timedOut(let endpoint, let timeout): "the replay server at \(endpoint) sent nothing for \(timeout)"
        case .protocolViolation(let text): "replay protocol: \(text)"
        }
    }
}

/// Asks a publisher's replay endpoint for part of its journal and hands out what comes back, in
/// journal order, granting credit for one batch each time it has handed one out. It belongs to
/// the thread that creates it.
public final class ReplayClient {
    public let endpoint: String
    private var socket: Socket
    private let context: ZMQContext
    private let security: CurveSecurity?
    private let timeout: Duration
    private var done = true
    /// When the server was last heard from (or the replay started).
    private var lastHeard: Int64 = 0
    /// The last replay timed out: its replies may still come.
    private var abandoned = false

    /// Connects to `endpoint` (`tcp://127.0.0.1:7710`); `timeout` bounds each wait for the server.
    public init(context: ZMQContext, endpoint: String, security: CurveSecurity? = nil, timeout: Duration = .seconds(30)) throws {
        self.endpoint = endpoint
        self.timeout = timeout
        self.context = context
        self.security = security
        socket = try Self.connect(context, endpoint, security)
    }

    private static func connect(_ context: ZMQContext, _ endpoint: String, _ security: CurveSecurity?) throws -> Socket {
        let socket = try Socket(context, .dealer)
        try socket.setLinger(milliseconds: 0)
        try socket.setMaxMessageSize(Int64(JournalFormat.maxPayload) + 4096)
        let parsed = Endpoint(parsing: endpoint, default: .connect)
        do {
            try socket.open(parsed, security: security)
        } catch let error as ZMQError {
            throw BusError.connectFailed(parsed.address, error.message)
        }
        return socket
    }

    /// Starts a replay (ending one in progress). The protocol has no request ids, so after a
    /// replay that did not end (cancelled, timed out) the client reconnects: late replies of
    /// the old one cannot be taken for the new one's.
    public func start(_ request: ReplayRequest) throws {
        if !done { try send(.cancel, []) }
        if abandoned || !done { socket = try Self.connect(context, endpoint, security) }
        abandoned = false
        try send(.replay, request.encoded())
        done = false
        lastHeard = MonotonicClock.nanoseconds()
    }

    /// Waits up to `wait` (nil: the timeout) for the next reply and hands each of its items to
    /// `body`, granting credit for one more batch afterwards. Returns false once the replay has
    /// ended (after its ``ReplayItem/end``), true while it goes on (also when `wait` passed with
    /// nothing); throws ``ReplayError/timedOut(endpoint:_:)`` once the server has been silent
    /// for the timeout.
    public func receive(waitingAtMost wait: Duration? = nil, _ body: (ReplayItem) throws -> Void) throws -> Bool {
        guard !done else { return false }
        let silent = MonotonicClock.nanoseconds() - lastHeard
        let left = timeout.nanoseconds - silent
        guard left > 0 else {
            done = true
            abandoned = true
            throw ReplayError.timedOut(endpoint: endpoint, timeout)
        }
        let milliseconds = min(left, wait?.nanoseconds ?? left) / 1_000_000
        try socket.setReceiveTimeout(milliseconds: Int32(clamping: max(1, milliseconds)))
        guard let command = try socket.receive({ ReplayCommand(frame: $0) }) else { return true }
        lastHeard = MonotonicClock.nanoseconds()
        guard let command, socket.hasMoreFrames else { throw ReplayError.protocolViolation("a reply without a command and a body") }
        var failure: (any Error)?
        _ = try socket.receiveFrame { bodyBytes in
            do {
                try handle(command, bodyBytes, body)
            } catch {
                failure = error
            }
        }
        while socket.hasMoreFrames { _ = try socket.receiveFrame { _ in } }
        if let failure {
            done = true
            throw failure
        }
        if command == .batch || command == .hole {
            withUnsafeBytes(of: UInt32(1).littleEndian) { credit in _ = try? send(.credit, Array(credit)) }
        }
        return !done
    }

    private func handle(_ command: ReplayCommand, _ bytes: UnsafeRawBufferPointer, _ body: (ReplayItem) throws -> Void) throws {
        switch command {
        case .batch:
            var offset = 0
            while offset < bytes.count {
                guard bytes.count - offset >= 4 else { throw ReplayError.protocolViolation("batch cut at byte \(offset)") }
                let size = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                guard size <= bytes.count - offset - 4 else { throw ReplayError.protocolViolation("message at batch byte \(offset) runs past the batch") }
                try body(.message(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + size)])))
                offset += 4 + size
            }
        case .hole:
            try body(.hole(try ReplayHole(decoding: bytes)))
        case .end:
            done = true
            try body(.end(try ReplayEnd(decoding: bytes)))
        case .error:
            done = true
            let refusal = try ReplayRefusal(decoding: bytes)
            throw ReplayError.refused(refusal.failure, refusal.text)
        case .replay, .credit, .cancel:
            throw ReplayError.protocolViolation("the server sent \(command.rawValue)")
        }
    }

    private func send(_ command: ReplayCommand, _ body: [UInt8]) throws {
        try socket.send(command.frame, flags: .sendMore)
        try socket.send(body)
    }
}
