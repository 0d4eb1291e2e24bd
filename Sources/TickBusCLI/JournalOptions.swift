import ArgumentParser
import Bus
import Foundation
import Journal

/// The journal options of a publishing service (docs/journal.md).
struct JournalOptions: ParsableArguments {
    @Option(help: "Journal directory (default $STATE_DIRECTORY/journal/<name> under systemd, else .tickbus/journal/<name>).")
    var journal: String?
    @Flag(help: "Publish without a journal.") var noJournal = false
    @Option(help: "How often journaled data is forced to the disk: never, always, or seconds.")
    var journalSync = "1"
    @Option(help: "Remove the oldest journal files past an age and/or a total size: 7d,20GB; 36h; 500MB; none.")
    var journalRetain = "7d,20GB"
    @Option(help: "Start a new journal file at this size (e.g. 1GB, 256MiB).")
    var journalFileSize = "1GB"
    @Option(help: "Serve the journal to replay clients here (default: the bus port + 10, e.g. tcp://127.0.0.1:7710; none).")
    var serveReplay: String?

    func validate() throws {
        if noJournal && journal != nil { throw ValidationError("--journal and --no-journal exclude each other") }
        if noJournal && serveReplay != nil && serveReplay != "none" { throw ValidationError("--serve-replay needs a journal") }
        guard JournalSync(parsing: journalSync) != nil else {
            throw ValidationError("--journal-sync \(journalSync): never, always, or seconds (0 < s ≤ 3600)")
        }
        do { _ = try JournalRetention(parsing: journalRetain) } catch { throw ValidationError("\(error)") }
        guard let size = JournalFileSize.bytes(journalFileSize), size >= 1 << 20 else {
            throw ValidationError("--journal-file-size \(journalFileSize): a size of at least 1MiB (1GB, 256MiB)")
        }
    }

    /// The journal of process `name`, or nil with --no-journal.
    func configuration(name: String) throws -> JournalWriter.Configuration? {
        guard !noJournal else { return nil }
        return JournalWriter.Configuration(
            directory: journal ?? Self.defaultDirectory(name: name),
            sync: JournalSync(parsing: journalSync) ?? .every(.seconds(1)),
            retention: try JournalRetention(parsing: journalRetain),
            fileSize: JournalFileSize.bytes(journalFileSize) ?? 1_000_000_000)
    }

    /// Where the journal of a publisher bound to `bus` is served: --serve-replay, else beside the
    /// first bus endpoint (docs/replay.md); none without a journal.
    func replayEndpoints(beside bus: [String]) -> ReplayEndpoints {
        guard !noJournal, serveReplay != "none" else { return [] }
        if let serveReplay { return [serveReplay] }
        return ReplayEndpoints(bus.first.flatMap { DefaultEndpoint.replay(beside: $0) }.map { [$0] } ?? [], required: false)
    }

    /// `<state directory>/journal/<name>`.
    static func defaultDirectory(name: String) -> String {
        StateDirectory.path + "/journal/\(name)"
    }
}

/// Where services keep state across restarts: systemd's `$STATE_DIRECTORY` (its first entry),
/// else `.tickbus` in the working directory.
enum StateDirectory {
    static var path: String {
        ProcessInfo.processInfo.environment["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init) ?? ".tickbus"
    }
}
