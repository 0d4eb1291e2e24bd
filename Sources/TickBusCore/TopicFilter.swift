/// What a subscriber asks the bus for, in the words a user types:
/// `T.AAPL` is exactly that topic, `T.` or `T.*` every trade, `T.AA*` every trade whose symbol
/// starts with `AA`, `*` or the empty string everything.
public struct TopicFilter: Hashable, Sendable, CustomStringConvertible {
    /// The ZeroMQ subscription prefix (an exact topic ends with a space).
    public let prefix: [UInt8]

    /// Parses a user pattern; an exact topic must be a valid `KIND.SYMBOL`.
    public init(_ pattern: String) throws(TopicError) {
        if pattern.isEmpty || pattern == "*" {
            prefix = []
        } else if pattern.hasSuffix("*") || pattern.hasSuffix(".") {
            let body = pattern.hasSuffix("*") ? pattern.dropLast() : Substring(pattern)
            if let dot = body.firstIndex(of: ".") {
                // `KIND.` or `KIND.SYM*`: the kind must exist and is written as on the wire
                // (`B1min.` is `B1m.`); the symbol prefix must be symbol characters, or the
                // filter could never match anything.
                let kind = try Topic.kindCode(of: String(body))
                let symbolPrefix = body[body.index(after: dot)...]
                do {
                    _ = try Symbol(symbolPrefix)
                } catch {
                    throw .badSymbol(pattern, error.description)
                }
                prefix = Array((kind.code + "." + symbolPrefix).utf8)
            } else {
                prefix = Array(body.utf8)
            }
        } else {
            prefix = Array(try Topic(parsing: pattern).exactPrefix.utf8)
        }
    }

    /// A filter matching `topic` exactly.
    public init(exactly topic: Topic) {
        prefix = Array(topic.exactPrefix.utf8)
    }

    /// Whether a bus message (topic, space, record) passes this filter.
    public func matches(_ message: UnsafeRawBufferPointer) -> Bool {
        guard message.count >= prefix.count else { return false }
        for i in 0..<prefix.count where message[i] != prefix[i] { return false }
        return true
    }

    public var description: String {
        if prefix.isEmpty { return "*" }
        let text = String(decoding: prefix, as: UTF8.self)
        return text.hasSuffix(" ") ? String(text.dropLast()) : text + "*"
    }
}

extension Topic {
    /// Validates the kind part of a prefix pattern such as `T.` or `B15s.`.
    static func kindCode(of pattern: String) throws(TopicError) -> TopicKind {
        let code = pattern.prefix { $0 != "." }
        guard let kind = TopicKind(code: code) else { throw .unknownKind(String(code)) }
        return kind
    }
}
