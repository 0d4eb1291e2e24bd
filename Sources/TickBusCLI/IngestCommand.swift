import ArgumentParser
import Bus
import Foundation
import Ingest
import Logging
import Massive
import MassiveREST
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
            --config file of `key = value` lines (feed, market, url, subscribe, bus, name, control, \
            state_file, rest_url, backfill_rate); flags win. `tickbus ctl` steers it while it runs \
            (docs/control.md); subscription changes are kept in a state file across restarts.
            """)

    @Option(help: "A settings file of `key = value` lines.") var config: String?
    @Option(help: "Massive feed: realtime, delayed, business, ... (default realtime).") var feed: String?
    @Option(help: "stocks, options, indices, forex, crypto or futures (default stocks).") var market: String?
    @Option(help: "Stream URL instead of a feed, e.g. ws://127.0.0.1:7790/stocks for tickbus sim.") var url: String?
    @Option(name: .customLong("subscribe"), help: "Massive subscriptions, comma-separated (T.AAPL,A.*); repeatable.")
    var subscriptions: [String] = []
    @Option(name: [.customLong("publish"), .customLong("bus")], help: "Bus endpoint to publish on (bind); repeatable (default \(DefaultEndpoint.bus); >tcp://host:port connects to a proxy).")
    var busEndpoints: [String] = []
    @Option(help: "Process name for S.<name> and H.<name> (default ingest).") var name: String?
    @Option(help: "The .env file to read MASSIVE_API_KEY from.") var envFile = ".env"
    @Option(help: "Give up after this many failed connection attempts in a row (default: never).")
    var maxAttempts: Int?
    @Option(help: "Seconds each handshake step may take (TCP and upgrade, the connected greeting, the auth reply) before the attempt is ended and retried.")
    var stepTimeout: Double = 10
    @Option(help: "Control socket for `tickbus ctl` (default \(DefaultEndpoint.control); `none` to disable).")
    var control: String?
    @Option(help: "Where subscription changes are kept across restarts (default .tickbus/<name>.subscriptions.json, or $STATE_DIRECTORY/<name>.subscriptions.json under systemd).")
    var stateFile: String?
    @Flag(help: "Start from --subscribe / the config file, discarding the subscriptions kept in the state file.")
    var resetSubscriptions = false
    @Option(help: "Massive REST base URL for backfills (default https://api.massive.com; with --url, the same host over http).")
    var restURL: String?
    @Option(help: "Backfill records published per second, all jobs together (0: unpaced).")
    var backfillRate: Int?
    @Flag(inversion: .prefixedNo, help: "After a reconnection, backfill the missed window of subscribed bar channels.")
    var gapRepair = true
    @Flag(help: "Subscribe upstream to what bus subscribers ask for (T.AAPL → T.AAPL, T. → T.*).")
    var onDemand = false
    @Option(help: "A file holding the token control requests must carry (docs/security.md).")
    var controlTokenFile: String?
    @OptionGroup(title: "Journal") var journal: JournalOptions
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logs and metrics") var service: ServiceOptions

    func validate() throws {
        guard stepTimeout.isFinite, stepTimeout >= 0.05, stepTimeout <= 3600 else {
            throw ValidationError("--step-timeout must be between 0.05 and 3600 seconds")
        }
        if let maxAttempts, maxAttempts < 1 { throw ValidationError("--max-attempts must be at least 1") }
    }

    func run() async throws {
        let (logger, metrics) = service.bootstrap(label: "tickbus.ingest")
        let file = try config.map(SettingsFile.load) ?? [:]
        let marketName = market ?? file["market"] ?? "stocks"
        let market = try MassiveEndpoint.market(named: marketName)
        let streamURL = url ?? file["url"]
        let endpoint = try streamURL.map { try MassiveEndpoint(url: $0, market: market) }
            ?? MassiveEndpoint(feed: feed ?? file["feed"] ?? "realtime", market: market)
        let subscriptionLists = subscriptions.isEmpty ? file["subscribe"].map { [$0] } ?? [] : subscriptions
        let configured = try MassiveSubscription.parse(subscriptionLists, market: market)
        let processName = name ?? file["name"] ?? "ingest"
        let statePath = stateFile ?? file["state_file"] ?? Self.defaultStateFile(name: processName)
        let store = SubscriptionStore(path: statePath)
        let (params, resumed) = try store.resolve(configured: configured, market: market, reset: resetSubscriptions)
        if resumed && params != configured {
            logger.notice("resuming the subscriptions kept in \(statePath); --reset-subscriptions starts from --subscribe",
                          metadata: ["subscriptions": "\(params.joined(separator: ","))"])
        }
        if params.isEmpty && !onDemand {
            logger.notice("no subscriptions yet: add some with `tickbus ctl subscribe T.AAPL`")
        }
        let apiKey: String
        if let key = SettingsFile.apiKey(environment: ProcessInfo.processInfo.environment, envFile: envFile) {
            apiKey = key
        } else {
            guard streamURL != nil else { throw MassiveConfigurationError.missingAPIKey }
            logger.notice("no MASSIVE_API_KEY; sending a placeholder key to \(endpoint.url)")
            apiKey = "tickbus-simulator"
        }
        let restBase = restURL ?? file["rest_url"] ?? streamURL.map(Self.httpBase) ?? "https://api.massive.com"
        let controlEndpoint = control ?? file["control"] ?? DefaultEndpoint.control
        var backfill = BackfillJobs.Configuration()
        if let rate = backfillRate ?? file["backfill_rate"].flatMap({ Int($0) }) {
            guard rate >= 0 else { throw ValidationError("--backfill-rate must be 0 or more") }
            backfill.rate = rate
        }
        let busList = busEndpoints.isEmpty
            ? (file["bus"].map { $0.split(separator: ",").map(String.init) } ?? [DefaultEndpoint.bus])
            : busEndpoints
        let context = try ZMQContext()
        let replayList = journal.replayEndpoints(beside: busList)
        let binds = (busList + replayList.endpoints + (controlEndpoint == "none" ? [] : [controlEndpoint])).map { Endpoint(parsing: $0, default: .bind) }
        let secured = try security.setUp(context: context, binds: binds, logger: logger)
        let controlToken = try controlTokenFile.map(ControlTokenFile.read)
        let ingest = IngestService(
            configuration: .init(
                stream: .init(endpoint: endpoint, apiKey: apiKey, subscriptions: params,
                              reconnect: .init(maxAttempts: maxAttempts), stepTimeout: .milliseconds(Int64(stepTimeout * 1000))),
                busEndpoints: busList,
                name: processName,
                controlEndpoint: controlEndpoint == "none" ? nil : controlEndpoint,
                stateFile: statePath,
                rest: MassiveRESTConfiguration(apiKey: apiKey, baseURL: restBase),
                backfill: backfill, gapRepair: gapRepair, onDemand: onDemand,
                version: TickBus.configuration.version, security: secured.server, controlToken: controlToken,
                journal: try journal.configuration(name: processName), replayEndpoints: replayList),
            context: context, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ingest)] + metricsServices(metrics, process: ingest.configuration.name, export: ingest.export),
            gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }

    /// `$STATE_DIRECTORY/<name>.subscriptions.json` under systemd, else `.tickbus/…` here.
    static func defaultStateFile(name: String) -> String {
        StateDirectory.path + "/\(name).subscriptions.json"
    }

    /// `ws://host:port/stocks` → `http://host:port` (the simulator serves both on one port).
    static func httpBase(_ streamURL: String) -> String {
        var base = streamURL.replacingOccurrences(of: "wss://", with: "https://").replacingOccurrences(of: "ws://", with: "http://")
        if let schemeEnd = base.range(of: "://"), let slash = base[schemeEnd.upperBound...].firstIndex(of: "/") {
            base = String(base[..<slash])
        }
        return base
    }
}
