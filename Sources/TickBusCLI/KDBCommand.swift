import ArgumentParser
import Bus
import Foundation
import KDB
import KDBService
import Logging
import ServiceLifecycle
import TickBusCore
import ZeroMQ

struct KDBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kdb",
        abstract: "kdb+: forward the bus to a tickerplant, or serve q clients as one (docs/kdb.md).",
        subcommands: [KDBPublishCommand.self, KDBServeCommand.self, KDBSamplesCommand.self])
}

struct KDBSamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samples",
        abstract: "Print sample q IPC messages written by tickbus's codec, one JSON object per line.",
        discussion: """
            Each line is {"name":..., "hex":<the whole message>, "value":<what it must decode to>} \
            (the value in the plain JSON of docs/kdb.md). Lets another decoder, such as pykx, \
            check every kind of message tickbus writes, .u.upd batches included.
            """)

    func run() throws {
        for (name, bytes, value) in KSamples.messages() {
            let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            var line = JSONObject()
            line.add("name", string: name)
            line.add("hex", string: hex)
            line.add("value", raw: KJSON.render(value))
            print(line.text)
        }
    }
}

struct KDBPublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Forward the bus's trades, quotes and bars to a kdb+ tickerplant as .u.upd calls.",
        discussion: """
            Tables and columns are deploy/kdb/sym.q's; an unmodified tick.q accepts them \
            (deploy/kdb/README.md). Each table's rows are sent as one async \
            .u.upd[`table;columns] every --flush-ms or --flush-rows rows. While the tickerplant \
            is away, up to --buffer-rows rows wait; past that the oldest are dropped, counted \
            and reported on S.<name>. A sync round trip every --confirm-rows rows or --confirm-ms \
            confirms delivery; rows unconfirmed when a connection ends are counted and reported. TOPIC as in `tickbus tap` (default: T. Q. A. AM. B*).
            """)

    @Option(help: "The tickerplant, host:port.") var tickerplant: String
    @Option(help: "Credentials for the handshake, user:password.") var user = ""
    @Option(name: .customLong("bus"), help: "Bus endpoint to read; repeatable.")
    var bus: [String] = [DefaultEndpoint.bus]
    @Option(help: "Send a table's rows at least this often (ms).") var flushMs = 50
    @Option(help: "Send a table's rows once it has this many.") var flushRows = 10_000
    @Option(help: "Rows kept while the tickerplant is slow or away.") var bufferRows = 1_000_000
    @Option(help: "Confirm delivery with a sync round trip after this many rows...") var confirmRows = 10_000
    @Option(help: "...or this many ms.") var confirmMs = 100
    @Flag(help: "Send HISTORICAL (backfilled) records to tradeHist, quoteHist and barHist.")
    var historicalTables = false
    @Flag(help: "Compress messages over 2000 bytes when that halves them (for a tickerplant on another host).")
    var compress = false
    @Option(name: [.customLong("publish"), .customLong("status")], help: "Endpoint for the status publisher (S.<name>, H.<name>); \"none\" for none.")
    var status = DefaultEndpoint.kdbStatus
    @Option(help: "Process name for S.<name> and H.<name>.") var name = "kdb"
    @Argument(help: "Topics to forward.") var topics: [String] = ["T.", "Q.", "A.", "AM.", "B*"]
    @OptionGroup(title: "Security (the bus side)") var security: SecurityOptions
    @OptionGroup(title: "Logs and metrics") var service: ServiceOptions

    func validate() throws {
        _ = try parseHostPort(tickerplant)
        if status != "none", !Endpoint(parsing: status, default: .bind).isLocal {
            throw ValidationError("--status \(status) is reachable from other hosts: bind a loopback address (or use tickbus proxy with CURVE)")
        }
        guard flushMs > 0, flushRows > 0, bufferRows >= flushRows, confirmRows > 0, confirmMs > 0 else {
            throw ValidationError(
                "--flush-ms, --flush-rows, --confirm-rows and --confirm-ms must be positive and --buffer-rows at least --flush-rows")
        }
        _ = try topicFilters(topics)
    }

    func run() async throws {
        let (logger, metrics) = service.bootstrap(label: "tickbus.kdb")
        let (host, port) = try parseHostPort(tickerplant)
        let context = try ZMQContext()
        let secured = try security.setUp(
            context: context, binds: bus.map { Endpoint(parsing: $0, default: .connect) }, logger: logger)
        var configuration = KDBPublisher.Configuration(
            host: host, port: port, credentials: user, bus: bus, filters: try topicFilters(topics),
            flushInterval: .milliseconds(flushMs), flushRows: flushRows, bufferRows: bufferRows,
            separateHistorical: historicalTables, compress: compress, status: status == "none" ? [] : [status], name: name)
        configuration.busSecurity = secured.client
        configuration.confirmRows = confirmRows
        configuration.confirmInterval = .milliseconds(confirmMs)
        let publisher = KDBPublisher(configuration: configuration, context: context, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: publisher)] + metricsServices(metrics, process: name, export: publisher.export),
            gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }
}

/// `host:port` → its parts.
func parseHostPort(_ text: String) throws -> (String, UInt16) {
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), colon > text.startIndex
    else { throw ValidationError("expected host:port, got \"\(text)\"") }
    return (String(text[..<colon]), port)
}

struct KDBServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the bus to q clients as a kdb+tick tickerplant would (.u.sub, then upd).",
        discussion: """
            q clients subscribe as to tick.q: h".u.sub[`trade;`]", h".u.sub[`quote;`AAPL`MSFT]" \
            or r.q's "(.u.sub[`;`];`.u `i`L)", and then receive async (`upd;`table;table) \
            messages (deploy/kdb/sym.q's tables). A client that falls more than --client-queue-kb \
            behind is disconnected; other sync requests get a 'nyi error.
            """)

    @Option(help: "Port for q clients.") var port: UInt16 = 5010
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "File of user:password lines; without it any user is accepted.") var credentials: String?
    @Option(name: .customLong("bus"), help: "Bus endpoint to read; repeatable.")
    var bus: [String] = [DefaultEndpoint.bus]
    @Option(help: "Push a table's rows at least this often (ms).") var flushMs = 50
    @Option(help: "Push a table's rows once it has this many.") var flushRows = 10_000
    @Option(help: "KiB queued for one client before it is disconnected as too slow.") var clientQueueKb = 65_536
    @Flag(help: "Serve HISTORICAL (backfilled) records as tradeHist, quoteHist and barHist.")
    var historicalTables = false
    @Argument(help: "Topics to serve.") var topics: [String] = ["T.", "Q.", "A.", "AM.", "B*"]
    /// `--insecure` (of the security options) also lets q clients connect from other hosts
    /// without --credentials.
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logs and metrics") var service: ServiceOptions

    func validate() throws {
        if credentials == nil, !security.insecure, !Endpoint(parsing: "tcp://\(host):\(port)", default: .bind).isLocal {
            throw ValidationError("""
                --host \(host) is reachable from other hosts: give --credentials (user:password lines, as q's -u) \
                or --insecure, or listen on 127.0.0.1
                """)
        }
        guard flushMs > 0, flushRows > 0, clientQueueKb > 0 else {
            throw ValidationError("--flush-ms, --flush-rows and --client-queue-kb must be positive")
        }
        _ = try topicFilters(topics)
    }

    /// `user:password` lines (blank lines and # comments skipped).
    private func readCredentials(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var users: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.isEmpty && !line.hasPrefix("#") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("\(path): expected user:password lines") }
            users[String(parts[0])] = String(parts[1])
        }
        return users
    }

    func run() async throws {
        let (logger, metrics) = service.bootstrap(label: "tickbus.kdb")
        let context = try ZMQContext()
        let secured = try security.setUp(
            context: context, binds: bus.map { Endpoint(parsing: $0, default: .connect) }, logger: logger)
        var configuration = KDBServer.Configuration(
            host: host, port: port, credentials: try credentials.map(readCredentials), bus: bus,
            filters: try topicFilters(topics), flushInterval: .milliseconds(flushMs), flushRows: flushRows,
            clientQueueBytes: clientQueueKb << 10, separateHistorical: historicalTables)
        configuration.busSecurity = secured.client
        let server = KDBServer(configuration: configuration, context: context, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server)] + metricsServices(metrics, process: "kdb", export: server.export),
            gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }
}
