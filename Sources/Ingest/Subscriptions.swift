import Logging
import Massive
import Synchronization

/// Ingest's subscriptions: the explicit list (from flags, the state file and `subscribe`
/// requests), persisted before it is applied, plus in `--on-demand` mode what bus subscribers
/// ask for. The stream holds the union and sends upstream what changed, without reconnecting.
final class Subscriptions: Sendable {
    let stream: MassiveStream
    let store: SubscriptionStore?
    private let state: Mutex<(explicit: [String], demanded: [String])>

    init(stream: MassiveStream, store: SubscriptionStore?) {
        self.stream = stream
        self.store = store
        state = Mutex((stream.subscriptions, []))
    }

    /// The explicit list.
    var current: [String] { state.withLock { $0.explicit } }

    /// What bus subscribers asked for (on-demand mode).
    var demanded: [String] { state.withLock { $0.demanded } }

    /// Adds `params` (Massive syntax); returns those that were new.
    func add(_ params: [String]) throws(SubscriptionChangeError) -> [String] {
        let valid = try validate(params)
        return try state.withLock { s throws(SubscriptionChangeError) -> [String] in
            let added = valid.filter { !s.explicit.contains($0) }
            if !added.isEmpty { try apply(&s, explicit: s.explicit + added) }
            return added
        }
    }

    /// Removes `params`; returns those removed and those that were not subscribed.
    func remove(_ params: [String]) throws(SubscriptionChangeError) -> (removed: [String], absent: [String]) {
        let valid = try validate(params)
        return try state.withLock { s throws(SubscriptionChangeError) -> ([String], [String]) in
            let drop = Set(valid)
            let kept = s.explicit.filter { !drop.contains($0) }
            let present = Set(s.explicit)
            if kept.count != s.explicit.count { try apply(&s, explicit: kept) }
            return (valid.filter { present.contains($0) }, valid.filter { !present.contains($0) })
        }
    }

    /// Replaces what bus subscribers ask for (not persisted: it follows the subscribers).
    func setDemanded(_ params: [String]) {
        state.withLock { s in
            s.demanded = params
            stream.setSubscriptions(Subscriptions.union(s.explicit, params))
        }
    }

    private func apply(_ s: inout (explicit: [String], demanded: [String]), explicit: [String]) throws(SubscriptionChangeError) {
        do {
            try store?.save(explicit)
        } catch {
            throw .notSaved("\(error)")
        }
        s.explicit = explicit
        stream.setSubscriptions(Subscriptions.union(explicit, s.demanded))
    }

    private static func union(_ a: [String], _ b: [String]) -> [String] {
        let seen = Set(a)
        return a + b.filter { !seen.contains($0) }
    }

    /// Checks every element of a request's `topics` (each may be a comma-separated list) is
    /// Massive's `EV.TICKER` for the stream's market: the first bad one fails the change, as
    /// does an element with no param in it (`""`, `","`).
    func validate(_ elements: [String]) throws(SubscriptionChangeError) -> [String] {
        var result: [String] = []
        for element in elements {
            let params: [String]
            do {
                params = try MassiveSubscription.parse([element], market: stream.configuration.endpoint.market)
            } catch {
                throw .invalid(error)
            }
            guard !params.isEmpty else { throw .empty }
            for param in params where !result.contains(param) { result.append(param) }
        }
        return result
    }
}

/// Why the subscriptions were not changed.
enum SubscriptionChangeError: Error, CustomStringConvertible {
    /// A param that is not Massive's `EV.TICKER` for the market.
    case invalid(MassiveConfigurationError)
    /// An element with no param in it.
    case empty
    /// The state file could not be written; nothing changed.
    case notSaved(String)

    var description: String {
        switch self {
        case .invalid(let error): error.description
        case .empty: "\"topics\" holds an empty subscription"
        case .notSaved(let error): "\(error); subscriptions unchanged"
        }
    }
}
