import ArgumentParser
import Foundation
import Journal
import TickBusCore

/// `tickbus journal cat | verify | stats`: the journal files as a dataset (docs/journal.md).
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Read, check and summarise journal files (docs/journal.md).",
        subcommands: [JournalCatCommand.self, JournalVerifyCommand.self, JournalStatsCommand.self])
}

/// The files a journal command reads: files and directories, in order.
struct JournalPaths: ParsableArguments {
    @Argument(help: "Journal files or directories (each read as all its .tbj files, oldest first).")
    var paths: [String]

    func files() throws -> [String] {
        do { return try JournalDirectory.expand(paths) } catch { throw ValidationError("\(error)") }
    }
}

struct JournalCatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Print the journaled records, in publishing order, as tap prints them.")

    @OptionGroup var paths: JournalPaths
    @Option(name: .customLong("topic"), help: "Only topics matching this pattern (T.AAPL, T., B1m.*); repeatable.")
    var topics: [String] = []
    @Option(help: "Only records from this time: 2026-12-03T14:30:00Z, an offset time, or HH:MM[:SS] today in New York.")
    var since: String?
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let filters = try topics.map { pattern in
            do { return try TopicFilter(pattern) } catch { throw ValidationError("--topic \(pattern): \(error)") }
        }
        let start = try since.map { try SinceTime.parse($0) }
        var damaged = 0
        for path in try paths.files() {
            let reader: JournalFileReader
            do { reader = try JournalFileReader(path: path) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                damaged += 1
                continue
            }
            let end = reader.forEachMessage { message, block in
                if let start, block.lastTime < start { return true }
                guard filters.isEmpty || filters.contains(where: { $0.matches(message) }) else { return true }
                guard let (_, bytes) = try? BusMessage.split(message), let record = try? WireFormat.decode(bytes) else {
                    FileHandle.standardError.write(Data("\(path): a message that does not decode (\(message.count) bytes)\n".utf8))
                    return true
                }
                if let start, block.firstTime < start, record.header.tsRecv < start { return true }
                print(json ? RecordFormatter.json(record) : RecordFormatter.text(record))
                return true
            }
            if let problem = JournalReport.problem(end, path: path) {
                FileHandle.standardError.write(Data("\(problem)\n".utf8))
                damaged += 1
            }
        }
        if damaged > 0 { throw ExitCode(1) }
    }
}

struct JournalVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block of every file; exit 1 on damage.",
        discussion: """
            A torn tail (a crash while writing) is cut by --repair, or by the publisher when it \
            starts again; a file being written now is reported as open, and its tail is not damage.
            """)

    @OptionGroup var paths: JournalPaths
    @Flag(help: "Cut the torn tails of files no process is writing (as a restarting publisher does).")
    var repair = false

    func run() throws {
        var damaged = 0
        for path in try paths.files() {
            if repair, !JournalDirectory.isHeld(path) {
                do {
                    if let done = try JournalDirectory.repair(file: path) {
                        print("\(path): repaired: \(done.removed ? "removed" : "cut \(done.cutBytes) bytes, kept \(done.keptMessages) messages") (\(done.reason))")
                        if done.removed { continue }
                    }
                } catch {
                    print("\(path): \(error)")
                    damaged += 1
                    continue
                }
            }
            do {
                let summary = try JournalFileReader(path: path).summary()
                let open = !summary.closed && JournalDirectory.isHeld(path)
                if let problem = JournalReport.problem(summary.end, path: path), !open {
                    print(problem)
                    damaged += 1
                } else {
                    let state = summary.closed ? (summary.repaired ? "closed by a repair" : "closed")
                        : open ? "open (being written)" : "not closed (its writer stopped; --repair closes it)"
                    print("\(path): ok, \(summary.messages) messages in \(summary.blocks) blocks, \(state)")
                }
            } catch {
                print("\(error)")
                damaged += 1
            }
        }
        if damaged > 0 { throw ExitCode(1) }
    }
}

struct JournalStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Per file: publisher, epoch, part, messages, topics, times, holes.")

    @OptionGroup var paths: JournalPaths
    @Flag(help: "One JSON object per file.") var json = false

    func run() throws {
        var damaged = 0
        for path in try paths.files() {
            let s: JournalFileSummary
            do { s = try JournalFileReader(path: path).summary() } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                damaged += 1
                continue
            }
            let lost = s.holes.reduce(UInt64(0)) { $0 + ($1.range.last - $1.range.first + 1) }
            let epoch = String(s.header.epoch, radix: 16)
            let times = (s.firstTime.map { UTCTime.iso8601(nanoseconds: $0) } ?? "-", s.lastTime.map { UTCTime.iso8601(nanoseconds: $0) } ?? "-")
            let problem = JournalReport.problem(s.end, path: path)
            if json {
                var o = JSONObject()
                o.add("file", string: path)
                o.add("publisher", string: s.header.publisher)
                o.add("epoch", raw: String(s.header.epoch))
                o.add("part", raw: String(s.header.part))
                o.add("day", raw: String(s.header.day))
                o.add("bytes", raw: String(s.size))
                o.add("blocks", raw: String(s.blocks))
                o.add("messages", raw: String(s.messages))
                o.add("topics", raw: String(s.topics))
                o.add("first_time", raw: s.firstTime.map { JSONObject.quote(UTCTime.iso8601(nanoseconds: $0)) } ?? "null")
                o.add("last_time", raw: s.lastTime.map { JSONObject.quote(UTCTime.iso8601(nanoseconds: $0)) } ?? "null")
                o.add("closed", raw: s.closed ? "true" : "false")
                o.add("repaired", raw: s.repaired ? "true" : "false")
                o.add("hole_ranges", raw: String(s.holes.count))
                o.add("hole_messages", raw: String(lost))
                o.add("problem", raw: problem.map(JSONObject.quote) ?? "null")
                print(o.text)
            } else {
                print("\((path as NSString).lastPathComponent)  \(s.header.publisher) epoch \(epoch) part \(s.header.part)  "
                    + "\(s.messages) messages, \(s.topics) topics, \(s.size) bytes  \(times.0) … \(times.1)  "
                    + (s.closed ? "closed" : "open") + (s.repaired ? " (repaired)" : "")
                    + (s.holes.isEmpty ? "" : "  holes: \(lost) messages in \(s.holes.count) ranges")
                    + (problem.map { "  \($0)" } ?? ""))
            }
            if problem != nil { damaged += 1 }
        }
        if damaged > 0 { throw ExitCode(1) }
    }
}

/// How the commands word a walk's end.
enum JournalReport {
    static func problem(_ end: JournalFileReader.End, path: String) -> String? {
        switch end {
        case .clean: nil
        case .torn(let offset, let reason): "\(path): torn tail at byte \(offset) (\(reason))"
        case .corrupt(let offset, let reason): "\(path): corrupt at byte \(offset) (\(reason))"
        }
    }
}

/// A `--since` time: ISO 8601 with `Z` or an offset (fraction allowed), or `HH:MM[:SS]` today in
/// New York (the US markets' clock).
enum SinceTime {
    static func parse(_ text: String) throws -> Int64 {
        let clock = text.split(separator: ":", omittingEmptySubsequences: false)
        if (2...3).contains(clock.count), clock.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }),
           let h = Int(clock[0]), let m = Int(clock[1]), h < 24, m < 60 {
            let s = clock.count == 3 ? Int(clock[2]) ?? 60 : 0
            guard s < 60, let newYork = TimeZone(identifier: "America/New_York") else {
                throw ValidationError("--since \(text): HH:MM or HH:MM:SS")
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = newYork
            var parts = calendar.dateComponents([.year, .month, .day], from: Date())
            parts.hour = h
            parts.minute = m
            parts.second = s
            guard let date = calendar.date(from: parts) else { throw ValidationError("--since \(text): not a time today") }
            return Int64(date.timeIntervalSince1970) * 1_000_000_000
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: text) ?? plain.date(from: text) else {
            throw ValidationError("--since \(text): 2026-12-03T14:30:00Z, 2026-12-03T09:30:00-05:00 or HH:MM (today, New York)")
        }
        return Int64((date.timeIntervalSince1970 * 1e3).rounded()) * 1_000_000
    }
}
