import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import TickBusCore

/// Fetches history from Massive's REST API (aggregates, v3 trades and quotes) page by page,
/// following `next_url`, retrying what passes (429, 5xx, timeouts, connection failures) with
/// backoff, pacing requests when asked to.
///
/// ```swift
/// let client = try MassiveRESTClient(configuration: .init(apiKey: key))
/// let query = try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .minuteBars, from: "2025-03-03", to: "2025-03-07")
/// try await client.fetch(query, events: { print($0) }) { records in publish(records) }
/// ```
public final class MassiveRESTClient: Sendable {
    public let configuration: MassiveRESTConfiguration
    private let http: HTTPClient
    private let acceptsGzip: Bool
    private let pacer: RequestPacer?
    private let logger: Logger

    /// Sent as `User-Agent`.
    public static let userAgent = "tickbus/0.1.0"

    /// The HTTP client used unless another is given: `HTTPClient.shared`'s settings (gzip
    /// decompression, HTTP/2), except that a connection that cannot be made fails the request
    /// at once. (`HTTPClient.shared` retries it silently until the request's deadline, so a
    /// refused connection would surface only as a timeout, after the whole timeout.)
    public static let defaultHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 5, allowCycles: false), timeout: .init(connect: .seconds(10)),
            decompression: .enabled(limit: .ratio(100)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// `decompresses` says whether `httpClient` decompresses gzip bodies; only then is
    /// `Accept-Encoding: gzip` sent. By default: true for ``defaultHTTPClient`` and
    /// `HTTPClient.shared` (they do), false for any other client.
    public init(
        configuration: MassiveRESTConfiguration, httpClient: HTTPClient = MassiveRESTClient.defaultHTTPClient,
        decompresses: Bool? = nil, logger: Logger = Logger(label: "tickbus.rest")
    ) throws(MassiveRESTError) {
        self.configuration = try configuration.validated()
        self.http = httpClient
        self.acceptsGzip = decompresses ?? (httpClient === MassiveRESTClient.defaultHTTPClient || httpClient === HTTPClient.shared)
        self.pacer = configuration.requestsPerMinute.map { RequestPacer(perMinute: $0) }
        self.logger = logger
    }

    /// Fetches everything `query` asks for, in ascending time order: `page` gets the records of
    /// each page as it arrives (nothing is held beyond one page), `events` every request, retry,
    /// wait and page. Throws ``MassiveRESTError`` (or `CancellationError`); pages already handed
    /// to `page` stay delivered.
    @discardableResult
    public func fetch(
        _ query: HistoryQuery,
        isolation: isolated (any Actor)? = #isolation,
        events: (RESTEvent) -> Void = { _ in },
        page: ([Record]) async throws -> Void
    ) async throws -> FetchSummary {
        guard !configuration.apiKey.isEmpty else { throw MassiveRESTError.missingAPIKey }
        var parser = RESTPageParser(query: query)
        var summary = FetchSummary()
        var url = configuration.baseURL + query.path(limit: configuration.pageLimit)
        var requested: Set<String> = []
        var lastBarStart = Int64.min
        while true {
            try Task.checkCancellation()
            guard requested.insert(url).inserted else { throw MassiveRESTError.paginationLoop(url: url) }
            let body = try await get(url, page: summary.pages + 1, query: query, summary: &summary, events: events)
            let receivedAt = WallClock.nanoseconds()
            var parsed: RESTPage
            do {
                parsed = try body.withUnsafeReadableBytes { bytes in try parser.parse(bytes, receivedAt: receivedAt) }
            } catch {
                throw MassiveRESTError.malformedPage(url: url, detail: "\(error)")
            }
            if query.kind.barInterval != nil, let first = parsed.records.first, first.header.tsEvent <= lastBarStart {
                let count = parsed.records.count
                parsed.records.removeAll { $0.header.tsEvent <= lastBarStart }
                summary.duplicates += count - parsed.records.count
            }
            if let last = parsed.records.last { lastBarStart = last.header.tsEvent }
            summary.pages += 1
            summary.records += parsed.records.count
            summary.skipped += parsed.skipped
            summary.cuts.merge(parsed.cuts, uniquingKeysWith: +)
            summary.bytes += body.readableBytes
            events(.page(
                number: summary.pages, records: parsed.records.count, bytes: body.readableBytes, skipped: parsed.skipped,
                cut: Int(clamping: parsed.cuts.values.reduce(0, +))))
            if !parsed.records.isEmpty { try await page(parsed.records) }
            guard let next = parsed.nextURL else { return summary }
            url = try resolve(next, after: url)
        }
    }

    /// GETs `url` until it succeeds, fails for good, or the attempts run out.
    private func get(
        _ url: String, page: Int, query: HistoryQuery, summary: inout FetchSummary, events: (RESTEvent) -> Void,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> ByteBuffer {
        let policy = configuration.retry
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            attempt += 1
            if let pacer {
                let wait = pacer.reserve()
                if wait > .zero {
                    events(.paced(delay: wait, requestsPerMinute: pacer.perMinute))
                    try await Task.sleep(for: wait)
                }
            }
            events(.request(url: url, page: page, attempt: attempt))
            summary.requests += 1
            let reason: RetryReason
            var retryAfter: Duration?
            do {
                let reply = try await send(url)
                logger.debug("GET \(url): \(reply.status), \(reply.body.readableBytes) bytes")
                switch reply.status {
                case 200..<300:
                    return reply.body
                case 408, 429, 499, 500...599:
                    reason = .status(reply.status, message: reply.message)
                    retryAfter = reply.retryAfter
                default:
                    throw failure(reply, url: url, query: query)
                }
            } catch let error as MassiveRESTError {
                throw error
            } catch is NIOTooManyBytesError {
                throw MassiveRESTError.malformedPage(url: url, detail: "body larger than \(configuration.maxBodyBytes) bytes")
            } catch let error as HTTPClientError where [.invalidURL, .emptyHost, .emptyScheme].contains(error) {
                throw MassiveRESTError.invalidURL(url)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                reason = transportReason(error)
                logger.debug("GET \(url): \(error)")
            }
            guard attempt < policy.maxAttempts else {
                throw MassiveRESTError.gaveUp(url: url, attempts: attempt, last: reason)
            }
            let delay = policy.delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
            events(.retry(reason: reason, delay: delay, attempt: attempt, maxAttempts: policy.maxAttempts))
            summary.retries += 1
            try await Task.sleep(for: delay)
        }
    }

    /// One response, body included, within the request timeout.
    private func send(_ url: String) async throws -> Reply {
        let request = self.request(url)
        let (http, timeout, limit) = (self.http, configuration.requestTimeout, configuration.maxBodyBytes)
        return try await withThrowingTaskGroup(of: Reply?.self) { group in
            group.addTask {
                let response = try await http.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
                let body = try await response.body.collect(upTo: limit)
                return Reply(status: Int(response.status.code), retryAfter: Reply.retryAfter(response.headers), body: body)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let reply = try await group.next() ?? nil else { throw RequestTimedOut() }
            return reply
        }
    }

    private func request(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey)")
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(name: "Accept", value: "application/json")
        if acceptsGzip { request.headers.add(name: "Accept-Encoding", value: "gzip") }
        return request
    }

    /// The error for a status that retrying cannot fix.
    private func failure(_ reply: Reply, url: String, query: HistoryQuery) -> MassiveRESTError {
        let message = reply.message ?? "HTTP \(reply.status)"
        switch reply.status {
        case 401: return .unauthorized(message: message)
        case 403: return .notEntitled(what: "\(query.kind) of \(query.symbol)", message: message)
        case 404: return .notFound(url: url, message: message)
        default: return .rejected(status: reply.status, url: url, message: message)
        }
    }

    private func transportReason(_ error: any Error) -> RetryReason {
        if error is RequestTimedOut { return .timeout(configuration.requestTimeout) }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
                return .timeout(configuration.requestTimeout)
            case .remoteConnectionClosed:
                return .transport("the server closed the connection")
            default:
                break
            }
        }
        let text = String(describing: error)
        for (needle, meaning) in [("refused", "connection refused"), ("reset", "connection reset")]
        where text.lowercased().contains(needle) {
            return .transport(meaning)
        }
        return .transport(text)
    }

    /// `next_url` as the next request: verbatim when it is on the base URL's origin; otherwise
    /// its path and query on the base URL, so the key is never sent anywhere else.
    private func resolve(_ next: String, after url: String) throws(MassiveRESTError) -> String {
        if next.hasPrefix("/") { return configuration.baseURL + next }
        guard let scheme = next.firstRange(of: "://") else {
            throw .malformedPage(url: url, detail: "next_url \(next.debugDescription) is not a URL")
        }
        let pathStart = next[scheme.upperBound...].firstIndex { $0 == "/" || $0 == "?" } ?? next.endIndex
        if next[..<pathStart].lowercased() == configuration.baseURL.lowercased() { return next }
        return configuration.baseURL + next[pathStart...]
    }
}

/// A complete response.
private struct Reply: Sendable {
    let status: Int
    let retryAfter: Duration?
    let body: ByteBuffer

    /// Massive's error message in the body, if it has one.
    var message: String? { body.withUnsafeReadableBytes { ErrorBody.message($0) } }

    /// `Retry-After` in whole seconds (the HTTP-date form is ignored).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "retry-after"),
              let seconds = Int(value.filter { $0 != " " && $0 != "\t" }), seconds >= 0
        else { return nil }
        return .seconds(seconds)
    }
}

/// No complete response within the request timeout.
private struct RequestTimedOut: Error {}
