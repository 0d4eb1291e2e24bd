import ArgumentParser
import Foundation
import Ingest
import Logging
import Massive
import ServiceLifecycle
import ZeroMQ

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Stream from Massive (or the simulator) onto the bus.",
        discussion: """
            Records go out on the bus as T/Q/A/AM topics; connection changes as S.<name> status \
            records (with the exact window of any gap); heartbeats as H.<name>. The API key is read \
            from MASSIVE_API_KEY or a .env file and never printed. Settings may also come from a \
            --config file of `key = value` lines (feed, market, url, subscribe, bus, name); flags win.
            """)

    @Option(help: "A settings file of `key = value` lines.") var config: String?
    @Option(help: "Massive feed: realtime, delayed, business, ... (default realtime).") var feed: String?
    @Option(help: "stocks, options, indices, forex, crypto or futures (default stocks).") var market: String?
    @Option(help: "Stream URL instead of a feed, e.g. ws://127.0.0.1:7790/stocks for tickbus sim.") var url: String?
    @Option(name: .customLong("subscribe"), help: "Massive subscriptions, comma-separated (T.AAPL,A.*); repeatable.")
    var subscriptions: [String] = []
    @Option(name: .customLong("bus"), help: "Bus endpoint to bind; repeatable (default tcp://127.0.0.1:7700).")
    var busEndpoints: [String] = []
    @Option(help: "Process name for S.<name> and H.<name> (default ingest).") var name: String?
    @Option(help: "The .env file to read MASSIVE_API_KEY from.") var envFile = ".env"
    @Option(help: "Give up after this many failed connection attempts in a row (default: never).")
    var maxAttempts: Int?

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "tickbus.ingest")
        let file = try config.map(SettingsFile.load) ?? [:]
        let marketName = market ?? file["market"] ?? "stocks"
        let market = try MassiveEndpoint.market(named: marketName)
        let streamURL = url ?? file["url"]
        let endpoint = try streamURL.map { try MassiveEndpoint(url: $0, market: market) }
            ?? MassiveEndpoint(feed: feed ?? file["feed"] ?? "realtime", market: market)
        let subscriptionLists = subscriptions.isEmpty ? file["subscribe"].map { [$0] } ?? [] : subscriptions
        let params = try SettingsFile.subscriptions(subscriptionLists)
        guard !params.isEmpty else { throw ValidationError("nothing to subscribe to: pass --subscribe T.AAPL,A.*") }
        var apiKey = SettingsFile.apiKey(environment: ProcessInfo.processInfo.environment, envFile: envFile)
        if apiKey == nil {
            guard streamURL != nil else { throw MassiveConfigurationError.missingAPIKey }
            logger.notice("no MASSIVE_API_KEY; sending a placeholder key to \(endpoint.url)")
            apiKey = "tickbus-simulator"
        }
        let ingest = IngestService(
            configuration: .init(
                stream: .init(endpoint: endpoint, apiKey: apiKey!, subscriptions: params,
                              reconnect: .init(maxAttempts: maxAttempts)),
                busEndpoints: busEndpoints.isEmpty
                    ? (file["bus"].map { $0.split(separator: ",").map(String.init) } ?? ["tcp://127.0.0.1:7700"])
                    : busEndpoints,
                name: name ?? file["name"] ?? "ingest"),
            context: try ZMQContext(), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ingest)], gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
    }
}
