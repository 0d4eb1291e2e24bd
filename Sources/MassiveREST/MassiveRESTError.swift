/// Why a fetch failed.
public enum MassiveRESTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No API key was configured.
    case missingAPIKey
    /// 401: Massive refused the key (its message: `Unknown API Key`).
    case unauthorized(message: String)
    /// 403: the plan does not include this data (`what`: `second bars of AAPL`).
    case notEntitled(what: String, message: String)
    /// 404: no such route or resource (often a ticker of the wrong form).
    case notFound(url: String, message: String)
    /// 400 or another status that retrying cannot fix.
    case rejected(status: Int, url: String, message: String)
    /// Every attempt failed for a passing reason; `last` is the last one.
    case gaveUp(url: String, attempts: Int, last: RetryReason)
    /// A 200 response whose body is not a page of results.
    case malformedPage(url: String, detail: String)
    /// A URL the HTTP client cannot request (a bad base URL or `next_url`).
    case invalidURL(String)
    /// `next_url` led back to a page already fetched.
    case paginationLoop(url: String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .missingAPIKey:
            "no Massive API key: set MASSIVE_API_KEY (in the environment or .env)"
        case .unauthorized(let message):
            "Massive refused the API key (\(message)): check MASSIVE_API_KEY"
        case .notEntitled(let what, let message):
            "your Massive plan does not include \(what): \(message)"
        case .notFound(let url, let message):
            "Massive has nothing at \(url) (404 \(message)): check the symbol and its market"
        case .rejected(let status, let url, let message):
            "Massive rejected \(url) (\(status)): \(message)"
        case .gaveUp(let url, let attempts, let last):
            "gave up on \(url) after \(attempts) attempt\(attempts == 1 ? "" : "s"); last: \(last)"
        case .malformedPage(let url, let detail):
            "malformed response from \(url): \(detail)"
        case .invalidURL(let url):
            "cannot request \(url.debugDescription): not a valid URL"
        case .paginationLoop(let url):
            "Massive's next_url led back to \(url); stopped"
        case .invalidConfiguration(let what):
            "invalid REST configuration: \(what)"
        }
    }
}
