import JSONText
import Massive

/// The message of a Massive error body: `error` (status `ERROR`) or `message` (status
/// `NOT_AUTHORIZED`, `NOT_FOUND`); for a body that is not JSON, its first line.
enum ErrorBody {
    enum Field: Int, JSONFieldKey {
        case error, message

        static func lookup(_ bytes: UnsafeRawBufferPointer) -> Field? {
            matches(bytes, "error") ? .error : matches(bytes, "message") ? .message : nil
        }
    }

    static func message(_ body: UnsafeRawBufferPointer) -> String? {
        var json = JSONScanner(body)
        var fields = JSONFieldTable<Field>()
        let complete = (try? fields.read(&json)) != nil
        let view = FieldView(text: body, fields: fields)
        func text(_ field: Field) -> String? { view.fields[field]?.kind == .string ? view.string(field) : nil }
        return complete ? text(.error) ?? text(.message) : text(.error) ?? text(.message) ?? firstLine(body)
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
