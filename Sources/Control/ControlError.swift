/// A refused control request: `{"ok":false,"error":{"code":…,"message":…}}`. The codes are
/// listed in `docs/control.md`; scripts may rely on them, so they never change meaning.
public struct ControlError: Error, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The request is not JSON.
        case badJSON = "bad_json"
        /// The request is JSON but not an object.
        case notObject = "not_object"
        /// More than one frame, or an empty one.
        case badRequest = "bad_request"
        /// The request (or a list in it) is larger than the server accepts.
        case tooLarge = "too_large"
        /// No `op`, or an `op` the server does not know.
        case unknownOp = "unknown_op"
        /// A required field is absent.
        case missingField = "missing_field"
        /// A field has the wrong type or an impossible value.
        case badField = "bad_field"
        /// A topic or subscription that is not `EV.TICKER` (or a pattern where one is allowed).
        case badTopic = "bad_topic"
        /// A symbol that is not a valid ticker.
        case badSymbol = "bad_symbol"
        /// A date or time that does not parse.
        case badDate = "bad_date"
        /// `from` after `to`, or a range longer than allowed for its timespan.
        case badRange = "bad_range"
        /// A timespan other than second, minute, day, trade, quote.
        case badTimespan = "bad_timespan"
        /// No job with that id.
        case notFound = "not_found"
        /// The server cannot do this now (too many jobs, no REST access configured).
        case unavailable = "unavailable"
        /// The server requires a `"token"` and the request has none, or another one.
        case unauthorized = "unauthorized"
        /// The server failed while serving a valid request (e.g. the state file cannot be written).
        case `internal` = "internal"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
