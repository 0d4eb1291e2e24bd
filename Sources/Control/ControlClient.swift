import TickBusCore
import ZeroMQ

/// Why a control call failed on the client side.
public enum ControlClientError: Error, CustomStringConvertible {
    /// No reply in time: the server is not running, not reachable, or stuck.
    case timeout(endpoint: String, after: Duration)
    /// The reply is not a control reply.
    case badReply(String)
    /// The server refused the request.
    case refused(ControlError.Code?, code: String, message: String)
    case transport(ZMQError)

    public var description: String {
        switch self {
        case .timeout(let endpoint, let after):
            "no reply from \(endpoint) within \(after.formattedSeconds): is `tickbus ingest` running there? (start it, or pass --endpoint)"
        case .badReply(let text): "the server's reply is not a control reply: \(text.prefix(200))"
        case .refused(_, let code, let message): "\(code): \(message)"
        case .transport(let error): "control socket: \(error.message)"
        }
    }
}

/// A client of the control socket: one request, one reply, with a timeout. A REQ socket that
/// timed out is closed and replaced (the zguide's Lazy Pirate), so it never gets stuck waiting
/// for a reply that will not come. Like every socket, it belongs to one thread.
public final class ControlClient {
    public let endpoint: String
    public let timeout: Duration
    private let context: ZMQContext
    private let security: CurveSecurity?
    private let token: String?
    private var socket: Socket

    /// A client of `endpoint`; with `security` a CURVE client, with `token` every request
    /// carries `"token"`.
    public init(
        context: ZMQContext, endpoint: String, timeout: Duration = .seconds(5),
        security: CurveSecurity? = nil, token: String? = nil
    ) throws {
        self.context = context
        self.endpoint = endpoint
        self.timeout = timeout
        self.security = security
        self.token = token
        socket = try ControlClient.connect(context, endpoint, security)
    }

    private static func connect(_ context: ZMQContext, _ endpoint: String, _ security: CurveSecurity?) throws -> Socket {
        let socket = try Socket(context, .req)
        try socket.open(Endpoint(parsing: endpoint, default: .connect), security: security)
        return socket
    }

    /// Sends `request` (JSON text) and returns the parsed reply, whatever its `ok`.
    public func send(_ request: String) throws(ControlClientError) -> JSONValue {
        let text: String
        do {
            _ = try socket.send(request)
            let poller = Poller()
            poller.add(socket)
            guard try poller.poll(timeoutMilliseconds: Int(timeout.nanoseconds / 1_000_000)) > 0,
                  let reply = try socket.receiveString(flags: .dontWait)
            else {
                socket = try ControlClient.connect(context, endpoint, security)
                throw ControlClientError.timeout(endpoint: endpoint, after: timeout)
            }
            text = reply
        } catch let error as ControlClientError {
            throw error
        } catch let error as ZMQError {
            throw .transport(error)
        } catch {
            throw .badReply("\(error)")
        }
        guard let value = try? JSONValue.parse(text), value["ok"]?.bool != nil else { throw .badReply(text) }
        return value
    }

    /// Sends `{"op":op,…}` with the fields `fields` adds, and returns the reply; throws
    /// ``ControlClientError/refused`` when the server answers `ok: false`.
    public func call(_ op: String, _ fields: (inout JSONObject) -> Void = { _ in }) throws(ControlClientError) -> JSONValue {
        var request = JSONObject()
        request.add("op", string: op)
        if let token { request.add("token", string: token) }
        fields(&request)
        let reply = try send(request.text)
        if reply["ok"]?.bool == true { return reply }
        let code = reply["error"]?["code"]?.string ?? "error"
        let message = reply["error"]?["message"]?.string ?? reply.text
        throw .refused(ControlError.Code(rawValue: code), code: code, message: message)
    }
}

extension Duration {
    /// `5 s`, `0.5 s`.
    var formattedSeconds: String {
        let ms = nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
    }
}
