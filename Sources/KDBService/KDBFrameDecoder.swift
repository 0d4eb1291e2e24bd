import KDB
import NIOCore

/// Why `kdb serve` closed a client that was in the middle of a message.
enum KDBFrameError: Error, CustomStringConvertible {
    /// The connection closed before the message was whole.
    case closedMidMessage
    /// No more bytes of a started message came within ``KDBFrameDecoder/stallTimeout``.
    case stalled

    var description: String {
        switch self {
        case .closedMidMessage: "peer closed in the middle of a message"
        case .stalled: "timed out in the middle of a message"
        }
    }
}

/// Splits a client's byte stream into whole q IPC messages (header and body, as one buffer).
/// The header is validated, and its length bounded by `maxLength`, before the body is awaited;
/// once a message has started, each further chunk must come within ``stallTimeout``. Bad headers
/// throw ``KError``, stalls and truncation ``KDBFrameError``: the request handler closes the peer.
struct KDBFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    static let stallTimeout = TimeAmount.seconds(10)

    let maxLength: Int
    private var stall: Scheduled<Void>?

    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        stall?.cancel()
        stall = nil
        guard buffer.readableBytes > 0 else { return .needMoreData }
        if buffer.readableBytes >= KMessageHeader.size {
            let header = try buffer.withUnsafeReadableBytes { [maxLength] in try KMessageHeader($0, maxLength: maxLength) }
            if let message = buffer.readSlice(length: header.length) {
                context.fireChannelRead(wrapInboundOut(message))
                return .continue
            }
        }
        stall = context.eventLoop.assumeIsolated().scheduleTask(in: Self.stallTimeout) {
            context.fireErrorCaught(KDBFrameError.stalled)
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        let state = try decode(context: context, buffer: &buffer)
        stall?.cancel()
        stall = nil
        if state == .needMoreData && buffer.readableBytes > 0 { throw KDBFrameError.closedMidMessage }
        return state
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) {
        stall?.cancel()
        stall = nil
    }
}
