/// Why a request failed in a way worth retrying.
public enum RetryReason: Sendable, Equatable, CustomStringConvertible {
    /// An HTTP status: 429, 408, 499 or 5xx, with the body's message when it had one.
    case status(Int, message: String?)
    /// No complete response within the request timeout.
    case timeout(Duration)
    /// The connection failed (refused, reset, closed early, DNS, TLS).
    case transport(String)

    public var description: String {
        switch self {
        case .status(429, _): "rate limited (429)"
        case .status(503, _): "Massive unavailable (503)"
        case .status(408, _): "request timeout (408)"
        case .status(let code, _): "server error (\(code))"
        case .timeout(let limit): "no response within \(formatDuration(limit))"
        case .transport(let what): what
        }
    }
}

/// A short human duration: `250 ms`, `1.5 s`, `12 s`.
func formatDuration(_ d: Duration) -> String {
    let ms = Double(d.components.seconds) * 1_000 + Double(d.components.attoseconds) / 1e15
    if ms.rounded() < 1_000 { return "\(Int(ms.rounded())) ms" }
    let tenths = (ms / 100).rounded()
    if tenths < 100, tenths.truncatingRemainder(dividingBy: 10) != 0 { return "\(tenths / 10) s" }
    return "\(Int((ms / 1_000).rounded())) s"
}
