import Foundation
import Synchronization

/// Messages from a connection's reader task (and from other connections) to its writer loop.
enum ControlMessage: Sendable {
    case text(String)
    case binary
    case closed
    case evict
}

final class ControlQueue: Sendable {
    private let messages = Mutex<[ControlMessage]>([])

    func push(_ m: ControlMessage) { messages.withLock { $0.append(m) } }

    func drain() -> [ControlMessage] {
        messages.withLock { q in
            defer { q.removeAll() }
            return q
        }
    }
}

/// Live connections per (market, key), for Massive's one-connection-per-cluster rule.
final class ConnectionRegistry: Sendable {
    private struct Entry: Sendable {
        let id: Int
        let queue: ControlQueue
    }
    private let state = Mutex<(next: Int, byKey: [String: [Entry]])>((0, [:]))

    /// Register an authenticated connection; returns its id. Evicts the oldest connections
    /// beyond `limit`.
    func register(market: Market, key: String, queue: ControlQueue, limit: Int?) -> Int {
        let k = market.rawValue + "\u{0}" + key
        let (id, evicted) = state.withLock { s -> (Int, [ControlQueue]) in
            s.next += 1
            var list = s.byKey[k] ?? []
            list.append(Entry(id: s.next, queue: queue))
            var evicted: [ControlQueue] = []
            if let limit, list.count > limit {
                evicted = list.prefix(list.count - limit).map(\.queue)
                list.removeFirst(list.count - limit)
            }
            s.byKey[k] = list
            return (s.next, evicted)
        }
        for q in evicted { q.push(.evict) }
        return id
    }

    func unregister(market: Market, key: String, id: Int) {
        let k = market.rawValue + "\u{0}" + key
        state.withLock { s in
            s.byKey[k]?.removeAll { $0.id == id }
            if s.byKey[k]?.isEmpty == true { s.byKey[k] = nil }
        }
    }

    var count: Int { state.withLock { $0.byKey.values.reduce(0) { $0 + $1.count } } }
}

/// A client control message: `{"action":"…","params":"…"}`.
struct ClientAction {
    var action: String
    var params: String

    static func parse(_ text: String) -> ClientAction? {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let action = object["action"] as? String
        else { return nil }
        return ClientAction(action: action, params: object["params"] as? String ?? "")
    }
}

/// A connection's subscriptions: per event kind, a wildcard bit and explicit tickers.
struct Subscriptions {
    var wildcard: UInt8 = 0
    var explicit: [String: UInt8] = [:]

    func mask(for name: String) -> UInt8 { wildcard | (explicit[name] ?? 0) }

    var isEmpty: Bool { wildcard == 0 && explicit.isEmpty }

    enum Outcome {
        case ok
        case ignoredChannel  // a Massive channel the simulator does not feed: acknowledged
        case invalid
    }

    /// Apply one `EV.TICKER` param.
    mutating func apply(_ param: Substring, subscribe: Bool, market: Market) -> Outcome {
        guard let dot = param.firstIndex(of: ".") else { return .invalid }
        let code = param[..<dot]
        let ticker = param[param.index(after: dot)...]
        guard !code.isEmpty, !ticker.isEmpty, !ticker.contains(where: { $0 == " " || $0 == "," }) else {
            return .invalid
        }
        guard let kind = market.kind(forCode: code) else {
            return market.isKnownUnsimulated(code: code) ? .ignoredChannel : .invalid
        }
        let bit = kind.maskBit
        if ticker == "*" {
            if subscribe { wildcard |= bit } else { wildcard &= ~bit }
        } else if subscribe {
            explicit[String(ticker), default: 0] |= bit
        } else if let m = explicit[String(ticker)] {
            let rest = m & ~bit
            explicit[String(ticker)] = rest == 0 ? nil : rest
        }
        return .ok
    }
}
