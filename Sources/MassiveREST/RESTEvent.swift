import Massive

/// Progress of a fetch, for callers that show it: each request, each page, each wait.
public enum RESTEvent: Sendable, Equatable, CustomStringConvertible {
    /// A request is being sent: page `page` (from 1), attempt `attempt` (from 1).
    case request(url: String, page: Int, attempt: Int)
    /// Page `page` arrived and was parsed: `skipped` results were left out, `cut` kept with a
    /// field cut (``RESTPage/cuts``).
    case page(number: Int, records: Int, bytes: Int, skipped: Int, cut: Int)
    /// The request failed and will be sent again after `delay`.
    case retry(reason: RetryReason, delay: Duration, attempt: Int, maxAttempts: Int)
    /// Waiting `delay` to stay under the configured requests per minute.
    case paced(delay: Duration, requestsPerMinute: Int)

    public var description: String {
        switch self {
        case .request(let url, let page, let attempt):
            "GET \(url) (page \(page)\(attempt > 1 ? ", attempt \(attempt)" : ""))"
        case .page(let number, let records, let bytes, let skipped, let cut):
            "page \(number): \(records) records, \(bytes) bytes\(skipped > 0 ? ", \(skipped) results skipped" : "")"
                + (cut > 0 ? ", \(cut) kept with a field cut" : "")
        case .retry(let reason, let delay, let attempt, let maxAttempts):
            "\(reason); retrying in \(formatDuration(delay)) (attempt \(attempt + 1) of \(maxAttempts))"
        case .paced(let delay, let perMinute):
            "waiting \(formatDuration(delay)) to stay under \(perMinute) requests per minute"
        }
    }
}

/// What a fetch did.
public struct FetchSummary: Sendable, Equatable {
    public var pages = 0
    public var records = 0
    /// Requests sent, retries included.
    public var requests = 0
    public var retries = 0
    /// Response bytes of the pages.
    public var bytes = 0
    /// Results without a usable time or price (or with fields of the wrong type), left out.
    public var skipped = 0
    /// Results kept with a field cut, by reason (``RESTPage/cuts``).
    public var cuts: [DecodeProblem: UInt64] = [:]
    /// Bars a page repeated from an earlier page, left out.
    public var duplicates = 0

    public init() {}
}
