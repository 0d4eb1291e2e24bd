import Control
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
    func add(_ params: [String]) throws(ControlError) -> [String] {
        let valid = try Subscriptions.validate(params)
        return try state.withLock { s throws(ControlError) -> [String] in
            let added = valid.filter { !s.explicit.contains($0) }
            if !added.isEmpty { try apply(&s, explicit: s.explicit + added) }
            return added
        }
    }

    /// Removes `params`; returns those that were not subscribed.
    func remove(_ params: [String]) throws(ControlError) -> [String] {
        let valid = try Subscriptions.validate(params)
        return try state.withLock { s throws(ControlError) -> [String] in
            let drop = Set(valid)
            let kept = s.explicit.filter { !drop.contains($0) }
            let absent = valid.filter { !s.explicit.contains($0) }
            if kept.count != s.explicit.count { try apply(&s, explicit: kept) }
            return absent
        }
    }

    /// Replaces what bus subscribers ask for (not persisted: it follows the subscribers).
    func setDemanded(_ params: [String]) {
        state.withLock { s in
            s.demanded = params
            stream.setSubscriptions(Subscriptions.union(s.explicit, params))
        }
    }

    private func apply(_ s: inout (explicit: [String], demanded: [String]), explicit: [String]) throws(ControlError) {
        do {
            try store?.save(explicit)
        } catch {
            throw ControlError(.internal, "\(error); subscriptions unchanged")
        }
        s.explicit = explicit
        stream.setSubscriptions(Subscriptions.union(explicit, s.demanded))
    }

    private static func union(_ a: [String], _ b: [String]) -> [String] {
        let seen = Set(a)
        return a + b.filter { !seen.contains($0) }
    }

    /// Checks every param is Massive's `EV.TICKER`; the first bad one fails the request.
    static func validate(_ params: [String]) throws(ControlError) -> [String] {
        do {
            return try SettingsFile.subscriptions(params)
        } catch {
            throw ControlError(.badTopic, error.description)
        }
    }
}
