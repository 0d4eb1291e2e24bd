import Massive

/// The message of a Massive error body: `error` (status `ERROR`) or `message` (status
/// `NOT_AUTHORIZED`, `NOT_FOUND`); for a body that is not JSON, its first line.
enum ErrorBody {
    static func message(_ body: UnsafeRawBufferPointer) -> String? {
        var json = JSONBytes(body)
        var error: String?
        var message: String?
        do throws(JSONBytes.Malformed) {
            try json.expect(UInt8(ascii: "{"))
            if !json.consume(UInt8(ascii: "}")) {
                repeat {
                    json.skipWhitespace()
                    let key = try json.string()
                    try json.expect(UInt8(ascii: ":"))
                    let value = try json.value()
                    guard value.kind == .string else { continue }
                    let name = UnsafeRawBufferPointer(rebasing: body[key.start..<key.end])
                    let raw = UnsafeRawBufferPointer(rebasing: body[value.start..<value.end])
                    let text = value.escaped ? JSONUnescape.string(raw) : String(decoding: raw, as: UTF8.self)
                    if name.elementsEqual("error".utf8) { error = text }
                    if name.elementsEqual("message".utf8) { message = text }
                } while json.consume(UInt8(ascii: ","))
            }
        } catch _ {
            return error ?? message ?? firstLine(body)
        }
        return error ?? message
    }

    /// The first non-empty line of a text body, at most 200 characters, without markup.
    private static func firstLine(_ body: UnsafeRawBufferPointer) -> String? {
        var text = String(decoding: body.prefix(4096), as: UTF8.self)
        while let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text.replaceSubrange(open...close, with: " ")
        }
        let line = text.split(whereSeparator: \.isNewline)
            .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            .first { !$0.isEmpty }
        return line.map { String($0.prefix(200)) }
    }
}
