#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Shows a fetch as it runs. On a terminal: one bar per symbol being fetched, redrawn in place
/// (at most ten times a second), and a final line per symbol as it ends. Otherwise: a plain
/// line per symbol every `interval`, and the final lines. Messages (waits, retries, notes) go
/// to standard error, above the bars.
public final class FetchProgressDisplay: Sendable {
    private let terminal: Bool
    private let interval: Duration
    private let state = Mutex(State())

    private struct State {
        var active: [SymbolProgress] = []
        var started: [String: ContinuousClock.Instant] = [:]
        /// Lines of bars on screen below the cursor's line start.
        var drawn = 0
        var lastDraw = ContinuousClock.now - .seconds(3600)
    }

    public init(terminal: Bool = isatty(STDOUT_FILENO) != 0, interval: Duration = .seconds(5)) {
        self.terminal = terminal
        self.interval = interval
    }

    public func handle(_ event: HistoryFetchEvent) {
        state.withLock { state in
            let now = ContinuousClock.now
            switch event {
            case .message(let text):
                clear(&state)
                write(text + "\n", fd: STDERR_FILENO)
                if terminal { draw(&state, now: now) }
            case .progress(let progress):
                if state.started[progress.symbol] == nil { state.started[progress.symbol] = now }
                if progress.finished {
                    state.active.removeAll { $0.symbol == progress.symbol }
                    clear(&state)
                    write(finalLine(progress, elapsed: now - state.started[progress.symbol]!) + "\n", fd: STDOUT_FILENO)
                    if terminal { draw(&state, now: now) }
                } else {
                    if let i = state.active.firstIndex(where: { $0.symbol == progress.symbol }) {
                        state.active[i] = progress
                    } else {
                        state.active.append(progress)
                    }
                    if now - state.lastDraw >= (terminal ? .milliseconds(100) : interval) {
                        clear(&state)
                        draw(&state, now: now)
                    }
                }
            }
        }
    }

    /// Erases the bars (terminal only).
    private func clear(_ state: inout State) {
        guard terminal, state.drawn > 0 else { return }
        write("\u{1B}[\(state.drawn)F\u{1B}[J", fd: STDOUT_FILENO)
        state.drawn = 0
    }

    /// Writes the active symbols' lines.
    private func draw(_ state: inout State, now: ContinuousClock.Instant) {
        guard !state.active.isEmpty else { return }
        var text = ""
        for progress in state.active {
            text += line(progress, elapsed: now - (state.started[progress.symbol] ?? now)) + "\n"
        }
        write(text, fd: STDOUT_FILENO)
        if terminal { state.drawn = state.active.count }
        state.lastDraw = now
    }

    private func line(_ p: SymbolProgress, elapsed: Duration) -> String {
        let percent = Int((p.fraction * 100).rounded(.down))
        var eta = "ETA --"
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if p.fraction > 0.005, seconds > 1 { eta = "ETA " + Self.duration(max(1, seconds * (1 - p.fraction) / p.fraction)) }
        let counts = "\(p.monthsDone)/\(p.months) months, \(Self.grouped(p.rowsWritten)) rows, \(Self.count(p.requests, "request")), \(eta)"
        guard terminal else { return "\(p.symbol): \(percent)%, \(counts)" }
        let width = 24
        let filled = min(width, Int(p.fraction * Double(width)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        return "\(p.symbol.padding(8)) [\(bar)] \(String(percent).leftPadding(3))%  \(counts.replacingCommas())"
    }

    private func finalLine(_ p: SymbolProgress, elapsed: Duration) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var text = "\(p.symbol): "
        text += p.failure == nil ? "done" : "stopped"
        text += ", \(p.monthsDone)/\(p.months) months"
        if p.monthsSkipped > 0 { text += " (\(p.monthsSkipped) up to date)" }
        text += ", \(Self.grouped(p.rowsWritten)) rows written, \(Self.grouped(p.rowsInFiles)) in the files"
        text += ", " + Self.count(p.requests, "request")
        if p.retries > 0 { text += " (\(p.retries) retried)" }
        return text + ", " + Self.duration(seconds)
    }

    private func write(_ text: String, fd: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// `1 request`, `2 requests`.
    static func count(_ n: Int, _ noun: String) -> String { "\(grouped(n)) \(noun)\(n == 1 ? "" : "s")" }

    /// `1,234,567`.
    static func grouped(_ n: Int) -> String {
        var digits = String(n)
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return digits + out
    }

    /// `850 ms`, `42s`, `3m05s`, `2h10m`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int(seconds * 1000)) ms" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60 < 10 ? "0" : "")\(s % 60)s" }
        return "\(s / 3600)h\(s % 3600 / 60 < 10 ? "0" : "")\(s % 3600 / 60)m"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    fileprivate func leftPadding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
    /// The terminal line separates its counts with two spaces instead of commas.
    fileprivate func replacingCommas() -> String {
        split(separator: ", ").joined(separator: "  ")
    }
}
