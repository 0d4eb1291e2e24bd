import Foundation
import Massive
import TickBusCore

/// The state file that keeps ingest's subscriptions across restarts:
/// `{"version":1,"subscriptions":["T.AAPL","A.*"]}`, replaced atomically (temporary file, then
/// rename) on every change, so a crash leaves the old list or the new one, never a torn file.
public struct SubscriptionStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The saved list, or nil when there is no state file yet. Every entry must be a valid
    /// subscription of `market` (``MassiveSubscription``): a file edited by hand, or written by
    /// an older version, is refused with the reason rather than sent upstream.
    public func load(market: Market) throws(SubscriptionStoreError) -> [String]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path, "cannot read") }
        let value: JSONValue
        do {
            value = try JSONValue.parse(Array(data))
        } catch {
            throw .unreadable(path, "\(error)")
        }
        guard let list = value["subscriptions"]?.array else { throw .unreadable(path, "no \"subscriptions\" list") }
        var params: [String] = []
        for element in list {
            guard let param = element.string else { throw .unreadable(path, "\"subscriptions\" must hold strings") }
            do {
                params.append(try MassiveSubscription.validate(param, market: market))
            } catch {
                throw .unreadable(path, "\(error); fix it or start with --reset-subscriptions")
            }
        }
        return params
    }

    /// The subscriptions to start with: those kept in the file (changed at runtime), unless
    /// there are none yet or `reset` is set; then `configured`, which is saved. Returns the list
    /// and whether it came from the file.
    public func resolve(
        configured: [String], market: Market, reset: Bool
    ) throws(SubscriptionStoreError) -> (params: [String], resumed: Bool) {
        if !reset, let saved = try load(market: market) { return (saved, true) }
        try save(configured)
        return (configured, false)
    }

    /// Writes `params` atomically, creating the directory if needed.
    public func save(_ params: [String]) throws(SubscriptionStoreError) {
        let url = URL(fileURLWithPath: path)
        var body = JSONObject()
        body.add("version", raw: "1")
        body.add("subscriptions", raw: JSONObject.list(params))
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
            try Data((body.text + "\n").utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw SubscriptionStoreError.unwritable(path, String(cString: strerror(errno)))
            }
        } catch let error as SubscriptionStoreError {
            throw error
        } catch {
            throw .unwritable(path, error.localizedDescription)
        }
    }
}

public enum SubscriptionStoreError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case unwritable(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "state file \(path) is unreadable: \(why)"
        case .unwritable(let path, let why): "cannot write state file \(path): \(why)"
        }
    }
}
