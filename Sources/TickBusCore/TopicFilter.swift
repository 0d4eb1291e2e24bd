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
        } else if pattern.hasSuffix("*") {
            prefix = Array(pattern.dropLast().utf8)
        } else if pattern.hasSuffix(".") {
            _ = try Topic.kindCode(of: pattern)
            prefix = Array(pattern.utf8)
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
