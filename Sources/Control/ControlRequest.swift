import TickBusCore

/// A parsed control request: a JSON object with an `op`, and typed access to its fields that
/// fails with the control protocol's error codes.
public struct ControlRequest: Sendable {
    /// Requests larger than this are refused with `too_large`.
    public static let maxBytes = 64 * 1024
    /// Lists (topics) longer than this are refused with `too_large`.
    public static let maxListCount = 10_000

    public let op: String
    public let body: JSONValue

    /// Parses one request frame.
    public init(bytes: [UInt8]) throws(ControlError) {
        guard bytes.count <= ControlRequest.maxBytes else {
            throw ControlError(.tooLarge, "request of \(bytes.count) bytes; the limit is \(ControlRequest.maxBytes)")
        }
        let body: JSONValue
        do {
            body = try JSONValue.parse(bytes)
        } catch {
            throw ControlError(.badJSON, "request is not JSON: \(error)")
        }
        guard case .object = body else { throw ControlError(.notObject, "request must be a JSON object with an \"op\"") }
        guard let opValue = body["op"] else { throw ControlError(.unknownOp, "request has no \"op\"") }
        guard let op = opValue.string else { throw ControlError(.badField, "\"op\" must be a string") }
        self.op = op
        self.body = body
    }

    /// A required string field.
    public func string(_ key: String) throws(ControlError) -> String {
        guard let value = body[key] else { throw ControlError(.missingField, "\"\(key)\" is required") }
        guard let string = value.string else { throw ControlError(.badField, "\"\(key)\" must be a string") }
        return string
    }

    /// An optional string field.
    public func optionalString(_ key: String) throws(ControlError) -> String? {
        guard let value = body[key], value != .null else { return nil }
        guard let string = value.string else { throw ControlError(.badField, "\"\(key)\" must be a string") }
        return string
    }

    /// An optional boolean field.
    public func optionalBool(_ key: String) throws(ControlError) -> Bool? {
        guard let value = body[key], value != .null else { return nil }
        guard let bool = value.bool else { throw ControlError(.badField, "\"\(key)\" must be true or false") }
        return bool
    }

    /// A required non-empty list of strings; a single string is accepted as a list of one.
    public func strings(_ key: String) throws(ControlError) -> [String] {
        guard let value = body[key] else { throw ControlError(.missingField, "\"\(key)\" is required") }
        if let single = value.string { return [single] }
        guard let list = value.array else { throw ControlError(.badField, "\"\(key)\" must be a list of strings") }
        guard !list.isEmpty else { throw ControlError(.badField, "\"\(key)\" must not be empty") }
        guard list.count <= ControlRequest.maxListCount else {
            throw ControlError(.tooLarge, "\"\(key)\" has \(list.count) entries; the limit is \(ControlRequest.maxListCount)")
        }
        var strings: [String] = []
        strings.reserveCapacity(list.count)
        for element in list {
            guard let s = element.string else { throw ControlError(.badField, "\"\(key)\" must be a list of strings") }
            strings.append(s)
        }
        return strings
    }
}
