/// An endpoint with the side that opens it: CZMQ's notation, `@tcp://…` binds and `>tcp://…`
/// connects; a plain endpoint takes the default the caller gives.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public enum Action: Sendable, Equatable { case bind, connect }

    public var action: Action
    /// The libzmq endpoint, without the prefix.
    public var address: String

    public init(_ action: Action, _ address: String) {
        self.action = action
        self.address = address
    }

    /// Parses `@addr` (bind), `>addr` (connect) or `addr` (`defaultAction`).
    public init(parsing text: String, default defaultAction: Action) {
        if text.hasPrefix("@") {
            self.init(.bind, String(text.dropFirst()))
        } else if text.hasPrefix(">") {
            self.init(.connect, String(text.dropFirst()))
        } else {
            self.init(defaultAction, text)
        }
    }

    public var description: String { (action == .bind ? "@" : ">") + address }

    /// Whether only this host can reach the endpoint: `ipc://` and `inproc://`, or TCP on a
    /// loopback address (`127.0.0.0/8`, `::1`, `localhost`). `*`, `0.0.0.0`, an interface name
    /// or any other address is reachable from elsewhere.
    public var isLocal: Bool {
        if address.hasPrefix("ipc://") || address.hasPrefix("inproc://") { return true }
        guard address.hasPrefix("tcp://") || address.hasPrefix("ws://") else { return false }
        var host = address.drop(while: { $0 != "/" }).dropFirst(2)
        // `tcp://source;host:port` names a source address for connects: judge the destination.
        if let semicolon = host.lastIndex(of: ";") { host = host[host.index(after: semicolon)...] }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<close] == "::1"
        }
        guard let colon = host.lastIndex(of: ":") else { return false }
        let name = host[..<colon]
        if name == "localhost" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
