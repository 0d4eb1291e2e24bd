/// How often written data is forced to the disk (docs/journal.md says what a power cut can
/// lose under each). Files are synced when closed whatever the setting.
public enum JournalSync: Sendable, Equatable {
    /// Only when a file is closed.
    case never
    /// After every block.
    case always
    /// At most this long after data was written.
    case every(Duration)

    /// `never`, `always` or seconds (`1`, `0.25`).
    public init?(parsing text: String) {
        switch text {
        case "never": self = .never
        case "always": self = .always
        default:
            guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 3600 else { return nil }
            self = .every(.nanoseconds(Int64(seconds * 1e9)))
        }
    }
}

/// How long journal files are kept: the oldest are removed once older than `maxAge` or while
/// all together exceed `maxBytes`.
public struct JournalRetention: Sendable, Equatable {
    public var maxAge: Duration?
    public var maxBytes: Int64?

    public init(maxAge: Duration? = .seconds(7 * 86_400), maxBytes: Int64? = 20_000_000_000) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    /// Keeps everything.
    public static let forever = JournalRetention(maxAge: nil, maxBytes: nil)

    /// `AGE,SIZE`, either alone, or `none`: ages `36h`, `7d`, `90m`; sizes `500MB`, `20GB`, `1TB`
    /// (powers of 1000; `MiB`, `GiB` for powers of 1024).
    public init(parsing text: String) throws(JournalError) {
        if text == "none" {
            self = .forever
            return
        }
        maxAge = nil
        maxBytes = nil
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if let age = Self.age(part) {
                guard maxAge == nil else { throw JournalError("--journal-retain \(text): two ages") }
                maxAge = age
            } else if let size = JournalFileSize.bytes(part) {
                guard maxBytes == nil else { throw JournalError("--journal-retain \(text): two sizes") }
                maxBytes = size
            } else {
                throw JournalError("--journal-retain \(text): \"\(part)\" is neither an age (36h, 7d) nor a size (500MB, 20GB)")
            }
        }
    }

    private static func age(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)), n > 0, n <= 100 * 365 * 86_400 / seconds else { return nil }
            return .seconds(n * seconds)
        }
        return nil
    }
}

/// Sizes on the command line: `500MB`, `1GB`, `64MiB`, or bytes.
public enum JournalFileSize {
    public static func bytes(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)), n > 0 else { return nil }
            let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
            return overflow ? nil : bytes
        }
        guard let n = Int64(text), n > 0 else { return nil }
        return n
    }
}
