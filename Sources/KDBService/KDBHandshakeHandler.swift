import KDB
import Logging
import NIOCore

/// The first handler of a q client's pipeline: reads the hello (credentials, capability, NUL;
/// at most ``KHandshake/maxLength`` bytes, within 10 s), checks the credentials, answers
/// `min(capability, 3)`, fires ``Accepted`` and leaves the pipeline, passing on any bytes that
/// followed the hello. A rejected client is closed without a reply byte, which q reports as
/// `'access`; a bad or unfinished hello is closed and logged as `bad handshake`.
final class KDBHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The user event fired down the pipeline once the client is accepted.
    struct Accepted {}

    static let timeout = TimeAmount.seconds(10)

    private let server: KDBServer
    private let metadata: Logger.Metadata
    private var hello: [UInt8] = []
    private var finished = false
    private var timer: Scheduled<Void>?

    init(server: KDBServer, metadata: Logger.Metadata) {
        self.server = server
        self.metadata = metadata
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.timeout) { [self] in
            fail(context, "timed out")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        var buffer = unwrapInboundIn(data)
        let nul = buffer.readableBytesView.firstIndex(of: 0)
        let length = nul.map { $0 - buffer.readerIndex } ?? buffer.readableBytes
        guard hello.count + length <= KHandshake.maxLength else {
            fail(context, "handshake longer than \(KHandshake.maxLength) bytes")
            return
        }
        hello += buffer.readableBytesView.prefix(length)
        guard nul != nil else { return }
        buffer.moveReaderIndex(forwardBy: length + 1)
        finished = true
        timer?.cancel()
        let parsed = KHandshake.parseHello(hello)
        if let users = server.configuration.credentials, parsed.password == nil || users[parsed.user] != parsed.password {
            server.count { $0.rejected += 1 }
            server.logger.warning("rejected credentials", metadata: metadata.merging(["user": "\(parsed.user)"]) { $1 })
            context.close(promise: nil)
            return
        }
        var reply = context.channel.allocator.buffer(capacity: 1)
        reply.writeInteger(parsed.reply)
        context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        context.fireUserInboundEventTriggered(Accepted())
        if buffer.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(buffer)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished { fail(context, "peer closed") }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished { fail(context, "\(error)") }
    }

    /// Counts, logs and closes a peer that did not complete the handshake.
    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        server.count { $0.badPeers += 1 }
        server.logger.warning("bad handshake, closed: \(reason)", metadata: metadata)
        context.close(promise: nil)
    }
}
