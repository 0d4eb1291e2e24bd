import ArgumentParser
import Bus
import Foundation
import Ingest
import Logging
import Massive
import MassiveREST
import ServiceLifecycle
import Simulator
import TickBusCore
import ZeroMQ

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulator + ingest + a bar printer: one line per bar per second, no key, no network.",
        discussion: """
            Starts tickbus sim on 127.0.0.1:7790, tickbus ingest subscribed to the \
            second bars (A.*) of a few symbols, and prints each bar from the bus: time (UTC, bar \
            start), symbol, open, high, low, close, volume. --live uses real Massive instead \
            (MASSIVE_API_KEY from the environment or .env). Ctrl-C stops everything.
            """)

    @Option(help: "Symbols, comma-separated.") var symbols = "AAPL,MSFT,SPY,QQQ,NVDA"
    @Option(help: "Simulated trades and quotes per second.") var rate: Double = 500
    @Option(name: .customLong("bus"), help: "Bus endpoint for ingest.") var busEndpoint = "tcp://127.0.0.1:7700"
    @Option(help: "Simulator port.") var simPort = 7790
    @Option(help: "Ingest's control socket, for `tickbus ctl`.") var control = "tcp://127.0.0.1:7701"
    @Flag(help: "Stream from real Massive (needs MASSIVE_API_KEY).") var live = false
    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).") var seconds: Double?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "tickbus.demo")
        let names = symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("--symbols names no symbol") }
        let context = try ZMQContext()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []

        let endpoint: MassiveEndpoint
        var apiKey = SettingsFile.apiKey(environment: ProcessInfo.processInfo.environment, envFile: ".env")
        if live {
            guard apiKey != nil else { throw MassiveConfigurationError.missingAPIKey }
            endpoint = try MassiveEndpoint(feed: "realtime", market: .stocks)
        } else {
            var configuration = SimulatorConfiguration(port: simPort, seed: 1, rate: rate)
            configuration.symbols = [.stocks: names]
            services.append(.init(service: MassiveSimulator(configuration: configuration, logger: logger)))
            // Ingest retries until the simulator listens.
            endpoint = try MassiveEndpoint(url: "ws://127.0.0.1:\(simPort)/stocks", market: .stocks)
            apiKey = "tickbus-demo"
        }
        let ingest = IngestService(
            configuration: .init(
                stream: .init(endpoint: endpoint, apiKey: apiKey!, subscriptions: names.map { "A.\($0)" }),
                busEndpoints: [busEndpoint], controlEndpoint: control,
                rest: MassiveRESTConfiguration(
                    apiKey: apiKey!, baseURL: live ? "https://api.massive.com" : "http://127.0.0.1:\(simPort)"),
                version: TickBus.configuration.version),
            context: context, logger: logger)
        services.append(.init(service: ingest))
        let printer = TapService(
            configuration: .init(endpoints: [busEndpoint], filters: try names.map { try TopicFilter("A.\($0)") }),
            format: Self.line)
        services.append(.init(service: printer, successTerminationBehavior: .gracefullyShutdownGroup))
        if let seconds {
            services.append(.init(service: StopAfter(seconds: seconds), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        print("time     symbol   open high low close volume   (\(live ? "Massive" : "simulator") → ingest → bus \(busEndpoint); try `tickbus ctl status`)")
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
    }

    /// Bars as one line each; connection trouble and gaps as `!!` lines.
    @Sendable static func line(_ event: BusEvent) -> String? {
        switch event {
        case .record(.bar(let bar)): RecordFormatter.barLine(bar)
        case .record: nil
        default: BusEventFormatter.text(event)
        }
    }
}

/// Ends the demo after a while (`--seconds`).
struct StopAfter: Service {
    let seconds: Double

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
    }
}
