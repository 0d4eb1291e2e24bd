import ArgumentParser
import Bus
import Control
import Foundation
import Logging
import TickBusCore
import ZeroMQ

struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Steer a running ingest: subscriptions, status, snapshots, backfills.",
        discussion: """
            Talks to ingest's control socket (docs/control.md). Tables by default, the raw JSON \
            reply with --json. Exits 1 when ingest refuses a request, 2 when it does not answer.
            """,
        subcommands: [
            Ping.self, Status.self, Subs.self, Subscribe.self, Unsubscribe.self, Snapshot.self, Backfill.self, Jobs.self,
            Job.self,
        ])

    struct Options: ParsableArguments {
        @Option(name: [.customLong("control"), .customLong("endpoint")], help: "Ingest's control endpoint.") var endpoint = DefaultEndpoint.control
        @Option(help: "Seconds to wait for a reply.") var timeout: Double = 5
        @Flag(help: "Print the reply as JSON.") var json = false
        @Option(help: "A file holding the control token ingest requires (docs/security.md).")
        var controlTokenFile: String?
        @OptionGroup(title: "Security") var security: SecurityOptions

        func validate() throws {
            guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
        }

        /// Sends one request and prints the reply with `format` (or as JSON).
        func call(
            _ op: String, _ fields: (inout JSONObject) -> Void = { _ in }, format: (JSONValue) -> String
        ) throws {
            let reply = try request(op, fields)
            print(ControlReplyFormatter.terminalSafe(json ? reply.text : format(reply)))
        }

        /// Sends `{"op":op,"topics":[…]}` and prints the reply.
        func call(_ op: String, topics: [String], format: (JSONValue) -> String) throws {
            try call(op, { $0.add("topics", raw: JSONObject.list(topics)) }, format: format)
        }

        func request(_ op: String, _ fields: (inout JSONObject) -> Void = { _ in }) throws -> JSONValue {
            let context = try ZMQContext()
            let secured = try security.setUp(
                context: context, binds: [Endpoint(parsing: endpoint, default: .connect)], logger: Logger(label: "tickbus.ctl"))
            let client = try ControlClient(
                context: context, endpoint: endpoint, timeout: .milliseconds(Int64(timeout * 1000)),
                security: secured.client ?? secured.server, token: try controlTokenFile.map(ControlTokenFile.read))
            do {
                return try client.call(op, fields)
            } catch {
                FileHandle.standardError.write(Data("tickbus ctl: \(error)\n".utf8))
                if case .timeout = error { throw ExitCode(2) }
                throw ExitCode(1)
            }
        }
    }

    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check ingest answers.")
        @OptionGroup var options: Options
        func run() throws { try options.call("ping", format: ControlReplyFormatter.ping) }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upstream state, counters, subscriptions, jobs.")
        @OptionGroup var options: Options
        func run() throws { try options.call("status", format: ControlReplyFormatter.status) }
    }

    struct Subs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "subs", abstract: "The subscriptions, and which Massive acknowledged.")
        @OptionGroup var options: Options
        func run() throws { try options.call("subscriptions", format: ControlReplyFormatter.subscriptions) }
    }

    struct Subscribe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add Massive subscriptions (T.AAPL Q.MSFT A.*); applied at once and kept across restarts.")
        @OptionGroup var options: Options
        @Argument(help: "Massive subscriptions.") var topics: [String]
        func run() throws {
            try options.call("subscribe", topics: topics, format: ControlReplyFormatter.subscriptions)
        }
    }

    struct Unsubscribe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove Massive subscriptions.")
        @OptionGroup var options: Options
        @Argument(help: "Massive subscriptions.") var topics: [String]
        func run() throws {
            try options.call("unsubscribe", topics: topics, format: ControlReplyFormatter.subscriptions)
        }
    }

    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The last record of each matching topic (T.AAPL, A.*, *), with its sequence number.")
        @OptionGroup var options: Options
        @Argument(help: "Bus topics or patterns.") var topics: [String]
        func run() throws {
            try options.call("snapshot", topics: topics, format: ControlReplyFormatter.snapshot)
        }
    }

    struct Backfill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish history on the bus (HISTORICAL flag) as a background job; prints its id.")
        @OptionGroup var options: Options
        @Argument(help: "The symbol, as the bus carries it (SPY, BTC-USD).") var symbol: String
        @Option(help: "First day (YYYY-MM-DD) or time (RFC 3339, Unix ms).") var from: String
        @Option(help: "Last day or time, inclusive.") var to: String
        @Option(help: "second, minute, day, trade or quote.") var timespan = "minute"
        @Flag(help: "Show a progress bar until the job ends.") var watch = false
        func run() throws {
            let reply = try options.request("backfill") {
                $0.add("symbol", string: symbol)
                $0.add("from", string: from)
                $0.add("to", string: to)
                $0.add("timespan", string: timespan)
            }
            guard watch, let id = reply["id"]?.string else {
                print(ControlReplyFormatter.terminalSafe(options.json ? reply.text : "job \(reply["id"]?.string ?? "?") queued"))
                return
            }
            try Job.watch(id, options)
        }
    }

    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Backfill jobs and their progress.")
        @OptionGroup var options: Options
        func run() throws { try options.call("jobs", format: ControlReplyFormatter.jobs) }
    }

    struct Job: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One backfill job; --watch shows a progress bar until it ends.")
        @OptionGroup var options: Options
        @Argument(help: "The job id.") var id: String
        @Flag(help: "Show a progress bar until the job ends.") var watch = false
        func run() throws {
            if watch {
                try Job.watch(id, options)
            } else {
                try options.call("job", { $0.add("id", string: id) }, format: ControlReplyFormatter.job)
            }
        }

        /// Polls the job four times a second; a bar redrawn in place on a terminal, a line a
        /// second otherwise. Exits 1 if the job failed or was cancelled.
        static func watch(_ id: String, _ options: Options) throws {
            let terminal = isatty(STDOUT_FILENO) != 0 && !options.json
            var lastLine = 0.0
            while true {
                let reply = try options.request("job") { $0.add("id", string: id) }
                let job = reply["job"] ?? .null
                let state = job["state"]?.string ?? "?"
                let finished = ["done", "failed", "cancelled"].contains(state)
                let now = Date().timeIntervalSince1970
                if options.json {
                    if finished { print(ControlReplyFormatter.terminalSafe(job.text)) }
                } else if terminal {
                    print("\r\u{1B}[K" + ControlReplyFormatter.terminalSafe(ControlReplyFormatter.progressBar(job)),
                          terminator: finished ? "\n" : "")
                    fflush(nil)
                } else if finished || now - lastLine >= 1 {
                    print(ControlReplyFormatter.terminalSafe(ControlReplyFormatter.progressBar(job)))
                    lastLine = now
                }
                if finished {
                    if state != "done" { throw ExitCode(1) }
                    return
                }
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
    }
}
