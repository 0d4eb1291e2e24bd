import ArgumentParser

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The OHLCV pipeline: fetch 1-second bars from Massive, resample them, validate the files.",
        discussion: """
            Files follow the old pipeline's tree and bytes: data/raw_1s/SYM/SYM_YYYY_MM.csv and \
            data/aggregated/<label>/SYM_YYYY_MM_<label>.csv, rows `ts_event,open,high,low,close,volume` \
            (docs/history.md).
            """,
        subcommands: [HistoryFetchCommand.self, HistoryResampleCommand.self, HistoryValidateCommand.self])
}
