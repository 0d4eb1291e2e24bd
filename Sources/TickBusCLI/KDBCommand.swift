import ArgumentParser
import KDB

struct KDBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kdb",
        abstract: "kdb+: forward the bus to a tickerplant, or serve q clients as one (docs/kdb.md).",
        subcommands: [KDBSamplesCommand.self])
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
            print(#"{"name":"\#(name)","hex":"\#(hex)","value":\#(KJSON.render(value))}"#)
        }
    }
}
