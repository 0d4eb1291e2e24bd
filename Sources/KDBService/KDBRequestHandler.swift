import KDB
import Logging
import NIOCore
import TickBusCore

/// The last handler of a q client's pipeline: answers its requests (``ServedTables``), tells the
/// bus thread about its subscriptions, and writes the `upd` messages the bus thread hands it. Both
/// count against the channel's write buffer: a client whose unsent bytes pass `clientQueueBytes`
/// (the channel turns unwritable) is disconnected as slow. Runs on the channel's event loop only.
final class KDBRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: KDBServer
    private let fanOut: SubscriptionFanOut
    private let id: Int
    private let metadata: Logger.Metadata
    private var context: ChannelHandlerContext?
    /// Set once the handshake is accepted: what the bus thread holds to reach this client.
    private var client: KDBClient?
    /// Table name → symbols (nil: all), as last told to the bus thread.
    private var subscriptions: [String: Set<FixedString>?] = [:]
    private var requestLog = LogLimiter()
    private var closed = false

    init(server: KDBServer, fanOut: SubscriptionFanOut, id: Int, metadata: Logger.Metadata) {
        self.server = server
        self.fanOut = fanOut
        self.id = id
        self.metadata = metadata
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is KDBHandshakeHandler.Accepted else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        client = KDBClient(id: id, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        server.count { $0.clients += 1 }
        server.logger.info("client connected", metadata: metadata)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed, client != nil else { return }
        let message = unwrapInboundIn(data)
        let decoded = message.withUnsafeReadableBytes { raw in
            Result { () throws(KError) in try KMessage.decode(raw, maxLength: server.configuration.maxRequestBytes) }
        }
        let type: KMessageType, request: KValue
        switch decoded {
        case .success(let value): (type, request) = value
        case .failure(let error):
            closeBadPeer(context, error)
            return
        }
        guard type != .response else { return }
        let (reply, subscription) = server.tables.answer(request)
        // An async request gets no answer, as from tick.q: `neg[h](".u.sub";`trade;`)` subscribes.
        var out: ByteBuffer?
        if type == .sync {
            let bytes = (try? KMessage.encode(reply, type: .response)) ?? Self.typeError
            out = context.channel.allocator.buffer(bytes: bytes)
        }
        if let (names, syms) = subscription {
            subscribe(tables: names, syms: syms)
        } else if case .error("nyi") = reply, let held = requestLog.admit() {
            server.logger.info("unsupported request ('nyi)", metadata: held > 0 ? metadata.merging(["log_lines_suppressed": "\(held)"]) { $1 } : metadata)
        }
        // After the subscription is posted, in the same event-loop turn: the bus thread's first
        // `upd` for it runs on this loop later, so after this reply.
        if let out { send(out, context: context, reply: true) }
        if let (names, syms) = subscription, !closed, let held = requestLog.admit() {
            server.logger.info("subscribed", metadata: metadata.merging([
                "tables": "\(names.joined(separator: ","))", "syms": "\(syms?.joined(separator: ",") ?? "all")",
            ].merging(held > 0 ? ["log_lines_suppressed": "\(held)"] : [:]) { $1 }) { $1 })
        }
    }

    /// The reply to a request whose answer cannot be encoded.
    private static let typeError: [UInt8] = [1, 2, 0, 0, 14, 0, 0, 0, 128] + Array("type".utf8) + [0]

    /// Records a `.u.sub` (replacing the earlier subscription of each table, as u.q does) and
    /// tells the bus thread; a repeated identical one changes nothing.
    private func subscribe(tables names: [String], syms: [String]?) {
        guard let client else { return }
        let symbols = syms.map { Set($0.compactMap { try? FixedString($0) }) }
        guard names.contains(where: { subscriptions[$0] != .some(symbols) }) else { return }
        for name in names { subscriptions[name] = symbols }
        fanOut.post(.subscribe(client, tables: names, syms: symbols))
    }

    /// Writes an `upd` message the bus thread encoded (one buffer shared by every client).
    func deliver(_ message: ByteBuffer) {
        guard !closed, let context else { return }
        send(message, context: context, reply: false)
    }

    /// Writes and flushes `message`; a client whose unsent bytes then pass the bound is
    /// disconnected. A reply into an empty buffer goes out whatever its size.
    private func send(_ message: ByteBuffer, context: ChannelHandlerContext, reply: Bool) {
        let exempt = reply && (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) == 0
        context.writeAndFlush(wrapOutboundOut(message), promise: nil)
        if !exempt && !context.channel.isWritable {
            disconnectSlow(context, because: reply ? "replies unread" : "updates unread")
        }
    }

    /// Counts, logs and closes a client whose unsent bytes passed `--client-queue-kb`.
    private func disconnectSlow(_ context: ChannelHandlerContext, because reason: String) {
        guard !closed else { return }
        closed = true
        server.count { $0.slowClients += 1 }
        server.logger.warning(
            "slow client disconnected: its queue passed \(server.configuration.clientQueueBytes) bytes",
            metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        context.close(promise: nil)
    }

    private func closeBadPeer(_ context: ChannelHandlerContext, _ error: any Error) {
        guard !closed else { return }
        closed = true
        server.count { $0.badPeers += 1 }
        server.logger.warning("bad message, closing the connection: \(error)", metadata: metadata)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is KError || error is KDBFrameError {
            closeBadPeer(context, error)
        } else if !closed {
            closed = true
            server.logger.info("connection failed, closing: \(error)", metadata: metadata)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if client != nil {
            client = nil
            fanOut.post(.leave(id: id))
            server.count { $0.clients -= 1 }
            let held = requestLog.suppressed
            server.logger.info(
                "client disconnected",
                metadata: held > 0 ? metadata.merging(["log_lines_suppressed": "\(held)"]) { $1 } : metadata)
        }
        context.fireChannelInactive()
    }
}

/// A connected q client as the bus thread holds it: it hands `upd` messages to the client's
/// handler on the client's event loop.
final class KDBClient: Sendable {
    let id: Int
    let handler: NIOLoopBound<KDBRequestHandler>

    init(id: Int, handler: NIOLoopBound<KDBRequestHandler>) {
        self.id = id
        self.handler = handler
    }

    var eventLoop: any EventLoop { handler.eventLoop }
}
