import Logging
import MassiveREST
import TickBusCore

/// Backfill pages from Massive's REST API (or the simulator's).
struct MassiveBackfill: Sendable {
    let client: MassiveRESTClient

    init(configuration: MassiveRESTConfiguration, market: Market, logger: Logger) throws {
        client = try MassiveRESTClient(configuration: configuration, logger: logger)
    }

    func fetch(
        _ request: BackfillRequest, note: @escaping @Sendable (String) -> Void,
        page: @escaping @Sendable ([Record]) async throws -> Void
    ) async throws {
        _ = try await client.fetch(request.query, events: { event in
            if case .retry = event { note(event.description) }
            if case .paced = event { note(event.description) }
        }, page: page)
    }
}
