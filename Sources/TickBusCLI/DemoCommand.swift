import ArchiveService
import ArgumentParser
import Bars
import BarsService
import Bus
import Foundation
import Journal
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
        abstract: "Simulator + ingest + bars + archive + a bar printer, no key, no network.",
        discussion: """
            Starts tickbus sim on 127.0.0.1:7790, tickbus ingest subscribed to the trades (T) and \
            second bars (A) of a few symbols, tickbus bars building B1s, B15s and B1m bars from \
            those trades, and tickbus archive writing everything under --data-dir. Prints each \
            upstream A bar next to the local B1s bar of the same second: time (UTC, bar start), \
            source, symbol, open, high, low, close, volume. The simulator's market clock is put \
            in a regular session (--market-time session), so bars flow at any hour; timestamps \
            stay on the wall clock. --live uses real Massive instead \
            (MASSIVE_API_KEY from the environment or .env). Ctrl-C stops everything.
            """)

    @Option(help: "Symbols, comma-separated.") var symbols = "AAPL,MSFT,SPY,QQQ,NVDA"
    @Option(help: "Simulated trades and quotes per second.") var rate: Double = 500
    @Option(
        name: .customLong("market-time"),
        help: "The simulator's market clock: session (default: now if US stocks are in their regular session, else the latest regular open, so bars flow at any hour), now (the real calendar: nothing on weekends and at night) or a time (see tickbus sim --market-time).")
    var marketTime = "session"
    @Option(name: .customLong("bus"), help: "Bus endpoint for ingest.") var busEndpoint = DefaultEndpoint.bus
    @Option(help: "Simulator port.") var simPort = 7790
    @Option(help: "Ingest's control socket, for `tickbus ctl`.") var control = DefaultEndpoint.control
    @Option(help: "Where tickbus bars publishes.") var barsBus = DefaultEndpoint.bars
    @Option(help: "Where tickbus archive publishes its status.") var archiveStatus = DefaultEndpoint.archiveStatus
    @Option(help: "Directory of the CSV archive.") var dataDir = "data"
    @Flag(help: "Stream from real Massive (needs MASSIVE_API_KEY).") var live = false
    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).") var seconds: Double?
    @OptionGroup(title: "Journal of ingest and bars") var journal: JournalOptions

    /// Where the demo's publisher bound to `bus` serves replays: beside its bus (docs/replay.md).
    private func replayOf(_ bus: String) -> ReplayEndpoints {
        journal.noJournal || journal.serveReplay == "none"
            ? [] : ReplayEndpoints(DefaultEndpoint.replay(beside: bus).map { [$0] } ?? [], required: false)
    }

    /// The journal of the demo's process `name`: `--journal DIR` holds one directory per process.
    private func journalOf(_ name: String) throws -> JournalWriter.Configuration? {
        var configuration = try journal.configuration(name: name)
        if let parent = journal.journal { configuration?.directory = parent + "/" + name }
        return configuration
    }

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
            guard let offset = SimulatorConfiguration.marketTimeOffset(marketTime, nowNs: WallClock.nanoseconds()) else {
                throw ValidationError("--market-time must be session, now, Unix ms, YYYY-MM-DD or RFC 3339")
            }
            configuration.marketTimeOffset = offset
            services.append(.init(service: MassiveSimulator(configuration: configuration, logger: logger)))
            // Ingest retries until the simulator listens.
            endpoint = try MassiveEndpoint(url: "ws://127.0.0.1:\(simPort)/stocks", market: .stocks)
            apiKey = "tickbus-demo"
        }
        let ingest = IngestService(
            configuration: .init(
                stream: .init(endpoint: endpoint, apiKey: apiKey!, subscriptions: names.flatMap { ["T.\($0)", "A.\($0)"] }),
                busEndpoints: [busEndpoint], controlEndpoint: control,
                rest: MassiveRESTConfiguration(
                    apiKey: apiKey!, baseURL: live ? "https://api.massive.com" : "http://127.0.0.1:\(simPort)"),
                version: TickBus.configuration.version, journal: try journalOf("ingest"),
                replayEndpoints: replayOf(busEndpoint)),
            context: context, logger: logger)
        services.append(.init(service: ingest))
        services.append(.init(service: BarsService(
            configuration: .init(input: [busEndpoint], output: [barsBus], intervals: [.second, try BarInterval(seconds: 15), .minute],
                                 grace: .seconds(1), journal: try journalOf("bars"), replayEndpoints: replayOf(barsBus)),
            context: context, logger: logger)))
        services.append(.init(service: ArchiveService(
            configuration: .init(input: [busEndpoint, barsBus], output: [archiveStatus], writer: .init(directory: dataDir)),
            context: context, logger: logger)))
        let printer = TapService(
            configuration: .init(
                endpoints: [busEndpoint, barsBus],
                filters: try names.flatMap { [try TopicFilter("A.\($0)"), try TopicFilter("B1s.\($0)")] }),
            context: context, format: Self.line)
        services.append(.init(service: printer, successTerminationBehavior: .gracefullyShutdownGroup))
        if let seconds {
            services.append(.init(service: StopAfter(seconds: seconds), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        print("time     bar symbol   open high low close volume   (A: \(live ? "Massive" : "simulator") → ingest \(busEndpoint); B1s: tickbus bars \(barsBus) from the trades; CSV files under \(dataDir)/; journals under \(journal.noJournal ? "none" : (journal.journal ?? StateDirectory.path + "/journal") + "/"); try `tickbus ctl status`, `tickbus journal stats`)")
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
    }

    /// Bars as one line each; connection trouble and gaps as `!!` lines.
    @Sendable static func line(_ event: BusEvent) -> String? {
        switch event {
        case .record(.bar(let bar)):
            // `09:30:01 A   AAPL ...`: the source after the time.
            String(RecordFormatter.barLine(bar).prefix(9)) + (bar.header.flags.contains(.local) ? "B1s " : "A   ")
                + RecordFormatter.barLine(bar).dropFirst(9)
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
