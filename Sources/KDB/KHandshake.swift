/// The q IPC handshake: the client sends `credentials`, a capability byte and a NUL; the server
/// answers one byte (the agreed capability) or closes the connection to reject.
public enum KHandshake {
    /// The capability a tickbus client asks for and the most a tickbus server grants
    /// (V3.0: compression, timestamps, guids, messages under 2 GB).
    public static let capability: UInt8 = 3
    /// The longest credentials a server reads before giving up on a peer.
    public static let maxLength = 1024

    /// The bytes a client sends: `user:password`, the capability byte, NUL.
    public static func clientHello(credentials: String, capability: UInt8 = capability) -> [UInt8] {
        Array(credentials.utf8) + [capability, 0]
    }

    /// A client hello as a server reads it.
    public struct Hello: Equatable, Sendable {
        public var user: String
        public var password: String?
        /// The client's capability, 0 when it sent none (a very old client).
        public var capability: UInt8

        /// The byte a server replies with: `min(capability, 3)`.
        public var reply: UInt8 { min(capability, KHandshake.capability) }
    }

    /// Parses the bytes before the NUL (the NUL itself excluded). As javakdb does, the last byte
    /// is the capability when it is below 32 (printable text cannot be one).
    public static func parseHello(_ bytes: some Collection<UInt8>) -> Hello {
        var text = Array(bytes)
        var capability: UInt8 = 0
        if let last = text.last, last < 32 {
            capability = last
            text.removeLast()
        }
        let credentials = String(decoding: text, as: UTF8.self)
        if let colon = credentials.firstIndex(of: ":") {
            return Hello(
                user: String(credentials[..<colon]),
                password: String(credentials[credentials.index(after: colon)...]), capability: capability)
        }
        return Hello(user: credentials, password: nil, capability: capability)
    }
}
