/// How a ``MassiveRESTClient`` talks to Massive.
public struct MassiveRESTConfiguration: Sendable {
    /// `scheme://host[:port]`: Massive (`https://api.massive.com`) or the simulator
    /// (`http://127.0.0.1:7790`).
    public var baseURL: String
    /// Sent as `Authorization: Bearer KEY`; never in a URL, never logged.
    public var apiKey: String
    public var retry: RetryPolicy
    /// Client-side pacing: at most this many requests (retries included) in any minute, e.g. 5
    /// for Massive's free plan. nil: no pacing.
    public var requestsPerMinute: Int?
    /// Results per page (Massive's `limit`, 1…50,000; for aggregates it counts base bars).
    public var pageLimit: Int
    /// The longest wait for one response, body included.
    public var requestTimeout: Duration
    /// Larger response bodies are refused.
    public var maxBodyBytes: Int

    public init(
        apiKey: String, baseURL: String = "https://api.massive.com", retry: RetryPolicy = RetryPolicy(),
        requestsPerMinute: Int? = nil, pageLimit: Int = 50_000, requestTimeout: Duration = .seconds(60),
        maxBodyBytes: Int = 512 << 20
    ) {
        self.apiKey = apiKey
        self.baseURL = baseURL
        self.retry = retry
        self.requestsPerMinute = requestsPerMinute
        self.pageLimit = pageLimit
        self.requestTimeout = requestTimeout
        self.maxBodyBytes = maxBodyBytes
    }

    /// Why the configuration cannot work, if it cannot.
    func validated() throws(MassiveRESTError) -> MassiveRESTConfiguration {
        func fail(_ s: String) -> MassiveRESTError { .invalidConfiguration(s) }
        var c = self
        while c.baseURL.hasSuffix("/") { c.baseURL.removeLast() }
        let lower = c.baseURL.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"),
              let hostStart = c.baseURL.firstRange(of: "://")?.upperBound, c.baseURL[hostStart...].contains(where: { $0 != "/" }),
              !c.baseURL.contains("?"), !c.baseURL.contains(where: \.isWhitespace)
        else { throw fail("base URL \(baseURL.debugDescription) is not http(s)://host[:port]") }
        guard retry.maxAttempts >= 1 else { throw fail("retry.maxAttempts must be at least 1") }
        guard retry.initialDelay >= .zero, retry.maxDelay >= .zero else { throw fail("retry delays must not be negative") }
        if let n = requestsPerMinute, n < 1 { throw fail("requestsPerMinute must be at least 1") }
        guard (1...50_000).contains(pageLimit) else { throw fail("pageLimit must be 1…50,000") }
        guard requestTimeout > .zero else { throw fail("requestTimeout must be positive") }
        guard maxBodyBytes > 0 else { throw fail("maxBodyBytes must be positive") }
        return c
    }
}
