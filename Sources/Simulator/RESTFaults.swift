import Hummingbird
import NIOCore
import Synchronization

/// Answers every Nth REST request with an error instead of data (`Faults.restErrorEvery`):
/// bursts of `restErrorBurst` requests, alternately 429 with `Retry-After` and 503 with a
/// non-JSON body, as a proxy or an overloaded Massive would.
final class RESTFaultInjector: Sendable {
    let every: Int
    let burst: Int
    let retryAfter: Int?
    private let requests = Atomic<Int>(0)

    init?(_ faults: SimulatorConfiguration.Faults) {
        guard let every = faults.restErrorEvery else { return nil }
        self.every = every
        self.burst = faults.restErrorBurst
        self.retryAfter = faults.restRetryAfter
    }

    /// Counts a request; the error to answer it with, if it is one of the faulty ones.
    func fault(requestID: String) -> Response? {
        let n = requests.add(1, ordering: .relaxed).newValue - 1
        guard n % every >= every - burst else { return nil }
        if (n / every) % 2 == 0 {
            var response = RESTResponder.error(
                .tooManyRequests, requestID,
                "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue.")
            if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/html"
        let body = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n"
        return Response(status: .serviceUnavailable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
