import ArgumentParser

@main
struct TickBus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickbus",
        abstract: "US market data from Massive on a ZeroMQ bus.",
        discussion: """
            The bus carries one frame per record: TOPIC, a space, a binary record \
            (docs/wire-format.md). Topics are KIND.SYMBOL: T trades, Q quotes, A/AM upstream \
            1 s/1 min bars, B<label> built bars, S status, H heartbeats.
            """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, IngestCommand.self, BarsCommand.self, ArchiveCommand.self, KDBCommand.self, ProxyCommand.self, CtlCommand.self, HistoryCommand.self, SimCommand.self, TapCommand.self, JournalCommand.self, KeygenCommand.self, BenchCommand.self]
    )
}
