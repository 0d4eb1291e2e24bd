import ZeroMQ

/// Where tickbus's processes bind and connect when no endpoint is given: one port per role,
/// the same on every host (docs/operations.md has the table).
public enum DefaultEndpoint {
    /// `ingest` publishes the bus; every subscriber reads it.
    public static let bus = "tcp://127.0.0.1:7700"
    /// `ingest`'s control socket, for `tickbus ctl`.
    public static let control = "tcp://127.0.0.1:7701"
    /// `bars` publishes its `B<label>` bars.
    public static let bars = "tcp://127.0.0.1:7702"
    /// `proxy` binds this for its subscribers.
    public static let proxyBackend = "tcp://127.0.0.1:7703"
    /// `archive` publishes `S.archive` and `H.archive`.
    public static let archiveStatus = "tcp://127.0.0.1:7705"
    /// `kdb publish` publishes `S.kdb` and `H.kdb`.
    public static let kdbStatus = "tcp://127.0.0.1:7706"

    /// Where a publisher bound to `bus` serves its journal to replay clients (docs/replay.md), and
    /// where a subscriber of `bus` asks: the same host, the port 10 higher (7700 → 7710, 7702 →
    /// 7712). Nil for a bus without a fixed TCP port.
    public static func replay(beside bus: String) -> String? {
        let address = Endpoint(parsing: bus, default: .bind).address
        guard address.hasPrefix("tcp://"), let colon = address.lastIndex(of: ":"),
              let port = Int(address[address.index(after: colon)...]), port > 0, port + 10 <= 65535
        else { return nil }
        return address[..<colon] + ":\(port + 10)"
    }
}
