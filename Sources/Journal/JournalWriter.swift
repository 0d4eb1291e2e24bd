#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TickBusCore

/// A publisher's journal: a thread of its own writes the blocks the publishing thread fills
/// (through its ``JournalAppender``) to files in its directory (docs/journal.md). It repairs
/// torn files and applies retention when it starts and at every new file, syncs as configured,
/// and never makes the publisher wait: what it cannot keep becomes a hole, counted, written
/// into the journal as a hole block and reported as an ``Event``.
public final class JournalWriter: Sendable {
    public struct Configuration: Sendable {
        /// The publisher's own directory, made if missing.
        public var directory: String
        public var sync: JournalSync
        public var retention: JournalRetention
        /// A new part starts when a file reaches this size.
        public var fileSize: Int64
        /// Payload bytes per block.
        public var blockSize: Int
        /// Blocks the writer may be behind before messages become a hole.
        public var queueBlocks: Int

        public init(
            directory: String, sync: JournalSync = .every(.seconds(1)), retention: JournalRetention = JournalRetention(),
            fileSize: Int64 = 1_000_000_000, blockSize: Int = 64 << 10, queueBlocks: Int = 256
        ) {
            self.directory = directory
            self.sync = sync
            self.retention = retention
            self.fileSize = fileSize
            self.blockSize = blockSize
            self.queueBlocks = queueBlocks
        }
    }

    /// What the journal has done.
    public struct Counters: Sendable, Equatable {
        /// Messages written.
        public var messages: UInt64 = 0
        /// Bytes written, headers included.
        public var bytes: UInt64 = 0
        /// Messages published but not journaled.
        public var lost: UInt64 = 0
        /// Writes the disk refused.
        public var writeErrors: UInt64 = 0
        /// Files started.
        public var files: UInt64 = 0
        /// Files removed by retention.
        public var removedFiles: UInt64 = 0
        /// Blocks waiting for the writer.
        public var queuedBlocks: Int = 0
    }

    /// What the journal reports to its owner (who puts it on `S.<name>` and in the log).
    public enum Event: Sendable {
        /// A torn file of an earlier run was cut (or removed) when the journal started.
        case repaired(JournalDirectory.Repair)
        /// The disk refused a write: messages are lost to the journal until it takes them again.
        case writeFailed(file: String, error: String)
        /// A hole was written: `holes` lists what the journal lacks.
        case hole(JournalHoles, reason: JournalHoleReason)
        /// Retention removed files.
        case removed(JournalDirectory.Removal)
        /// A new file was started.
        case started(file: String)
    }

    public let configuration: Configuration
    public let epoch: UInt32
    public let publisher: String
    private let shared: Shared

    /// Makes the directory, repairs what an earlier run left torn, applies retention and starts
    /// the writer thread. Events from that start are kept until ``onEvent(_:)`` is set.
    public init(configuration: Configuration, publisher: String, epoch: UInt32) throws(JournalError) {
        guard configuration.blockSize >= 1024, configuration.queueBlocks >= 2, configuration.fileSize >= 1 << 20 else {
            throw JournalError("journal: block size ≥ 1 KiB, queue ≥ 2 blocks and file size ≥ 1 MiB needed")
        }
        try Self.makeDirectory(configuration.directory)
        self.configuration = configuration
        self.epoch = epoch
        self.publisher = publisher
        shared = Shared(configuration: configuration)
        for repair in JournalDirectory.repair(configuration.directory) { shared.emit(.repaired(repair)) }
        let files = FileState(configuration: configuration, publisher: publisher, epoch: epoch, shared: shared)
        let thread = Thread { [shared] in
            files.run()
            shared.finished.signal()
        }
        thread.name = "journal-writer"
        thread.start()
    }

    /// Sets who hears the journal's events (called on the writer thread); events before are
    /// delivered now.
    public func onEvent(_ handler: @escaping @Sendable (Event) -> Void) {
        shared.setHandler(handler)
    }

    /// The appender for the publishing thread: call it once, and use the appender on one thread.
    public func appender() -> JournalAppender { JournalAppender(shared: shared) }

    public var counters: Counters {
        shared.state.withLock { s in
            var c = s.counters
            c.queuedBlocks = s.pending.count
            return c
        }
    }

    /// Writes what is queued, closes the file (end block, sync) and ends the thread. Idempotent;
    /// call it after the appender's last ``JournalAppender/flush()``.
    public func stop() {
        let first = shared.state.withLock { s in
            defer { s.stopping = true }
            return !s.stopping
        }
        guard first else { return }
        shared.wake.signal()
        shared.finished.wait()
    }

    private static func makeDirectory(_ path: String) throws(JournalError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o750) != 0 && errno != EEXIST { throw .system("cannot make directory", built) }
        }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw JournalError("\(path) is not a directory") }
        guard access(path, W_OK) == 0 else { throw .system("cannot write in", path) }
    }
}

/// The publishing thread's side of a journal: copies each message into the current block and
/// hands blocks to the writer. Belongs to one thread; allocates only when the writer is behind
/// by more blocks than the pool keeps idle.
public final class JournalAppender {
    private let shared: Shared
    private var block: JournalBlock?
    /// Messages that found no block (the writer behind), until handed over.
    private var dropped = JournalHoles()

    init(shared: Shared) { self.shared = shared }

    /// Appends one bus message (topic, space, record).
    @inline(__always)
    public func append(_ message: UnsafeRawBufferPointer) {
        if let block, block.append(message, now: WallClock.nanoseconds()) { return }
        appendSlow(message)
    }

    private func appendSlow(_ message: UnsafeRawBufferPointer) {
        if let full = block {
            block = nil
            hand(full)
        }
        guard dropped.isEmpty || shared.hasRoom, let fresh = shared.takeFree() else {
            dropped.add(message)
            return
        }
        if !dropped.isEmpty {
            shared.addHoles(dropped, reason: .writerBehind)
            dropped = JournalHoles()
        }
        if fresh.append(message, now: WallClock.nanoseconds()) {
            block = fresh
        } else {
            // Longer than a pooled block holds (a status record of many KiB): a block of its own.
            shared.recycle(fresh)
            guard let big = JournalBlock(target: message.count + 4, oversized: true) else {
                dropped.add(message)
                return
            }
            _ = big.append(message, now: WallClock.nanoseconds())
            hand(big)
        }
    }

    /// Hands the current block to the writer once its first message is `maxDelay` ns old, so a
    /// busy publisher writes full blocks and a quiet one keeps nothing in memory for long: call it
    /// when the publishing thread is about to wait for input. Returns the ns until the block is due
    /// (wait no longer than that), or nil when nothing waits.
    public func flush(olderThan maxDelay: Int64) -> Int64? {
        guard let current = block, !current.isEmpty else {
            flush()
            return nil
        }
        let age = WallClock.nanoseconds() - current.firstTime
        guard age < maxDelay else {
            flush()
            return nil
        }
        return maxDelay - age
    }

    /// Hands the current block (and what was dropped) to the writer now.
    public func flush() {
        if let current = block, !current.isEmpty {
            block = nil
            hand(current)
        }
        if !dropped.isEmpty {
            shared.addHoles(dropped, reason: .writerBehind)
            dropped = JournalHoles()
        }
    }

    private func hand(_ full: JournalBlock) {
        full.lastTime = WallClock.nanoseconds()
        shared.enqueue(full)
    }
}

/// The state the appender and the writer thread share.
final class Shared: Sendable {
    struct State {
        var pending: [JournalBlock] = []
        var free: [JournalBlock] = []
        var allocated = 0
        var holes = JournalHoles()
        var holeReason = JournalHoleReason.writerBehind
        var counters = JournalWriter.Counters()
        var stopping = false
        var waiting = false
        var handler: (@Sendable (JournalWriter.Event) -> Void)?
        var events: [JournalWriter.Event] = []
    }

    let state = Mutex(State())
    let wake = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    let blockSize: Int
    let queueBlocks: Int
    /// Written blocks kept for reuse; the writer releases any beyond, so memory follows the
    /// queue back down after a burst.
    static let idleBlocks = 8

    init(configuration: JournalWriter.Configuration) {
        blockSize = configuration.blockSize
        queueBlocks = configuration.queueBlocks
    }

    /// Whether the queue has room again (after a drop the appender resumes only then).
    var hasRoom: Bool { state.withLock { $0.pending.count < queueBlocks - 1 } }

    /// A block to fill, or nil when all the pool's blocks wait for the writer (or memory is out).
    func takeFree() -> JournalBlock? {
        let (block, allocate) = state.withLock { s -> (JournalBlock?, Bool) in
            if let block = s.free.popLast() { return (block, false) }
            guard s.allocated < queueBlocks else { return (nil, false) }
            s.allocated += 1
            return (nil, true)
        }
        if let block { return block }
        guard allocate else { return nil }
        if let fresh = JournalBlock(target: blockSize) { return fresh }
        state.withLock { $0.allocated -= 1 }
        return nil
    }

    func enqueue(_ block: JournalBlock) {
        let mustWake = state.withLock { s -> Bool in
            s.pending.append(block)
            defer { s.waiting = false }
            return s.waiting
        }
        if mustWake { wake.signal() }
    }

    func addHoles(_ holes: JournalHoles, reason: JournalHoleReason) {
        state.withLock { s in
            s.holes.merge(holes)
            s.holeReason = reason
            s.counters.lost += holes.messages
        }
    }

    /// Returns a written block to the pool; one beyond ``idleBlocks`` is released by the caller
    /// dropping it.
    func recycle(_ block: JournalBlock) {
        guard !block.isOversized else { return }
        block.reset()
        state.withLock { s in
            if s.free.count < Self.idleBlocks { s.free.append(block) } else { s.allocated -= 1 }
        }
    }

    func emit(_ event: JournalWriter.Event) {
        let handler = state.withLock { s -> (@Sendable (JournalWriter.Event) -> Void)? in
            if s.handler == nil { s.events.append(event) }
            return s.handler
        }
        handler?(event)
    }

    func setHandler(_ handler: @escaping @Sendable (JournalWriter.Event) -> Void) {
        let held = state.withLock { s in
            s.handler = handler
            defer { s.events = [] }
            return s.events
        }
        for event in held { handler(event) }
    }
}

/// The writer thread's files: the open one, its size and day, when it was last synced.
private final class FileState: @unchecked Sendable {
    let configuration: JournalWriter.Configuration
    let publisher: String
    let epoch: UInt32
    let shared: Shared
    private var fd: Int32 = -1
    private var path = ""
    private var size: Int64 = 0
    private var day: UInt32 = 0
    private var part: UInt32 = 0
    private var messages: UInt64 = 0
    private var firstTime: Int64?
    private var lastTime: Int64 = 0
    private var unsynced = false
    private var lastSync = MonotonicClock.nanoseconds()
    /// `SECONDS` syncs run here, on a duplicate of the file's descriptor: the writer goes on
    /// writing while the disk catches up, so a slow disk does not fill the queue.
    private let syncQueue = DispatchQueue(label: "journal-sync")
    /// A sync is running on `syncQueue` (the next waits for it).
    private let syncing = Atomic<Bool>(false)
    /// The disk refused the last write: reported once until a write succeeds.
    private var failing = false

    init(configuration: JournalWriter.Configuration, publisher: String, epoch: UInt32, shared: Shared) {
        self.configuration = configuration
        self.publisher = publisher
        self.epoch = epoch
        self.shared = shared
    }

    func run() {
        var batch: [JournalBlock] = []
        applyRetention()
        while true {
            let stopping = shared.state.withLock { s -> Bool in
                swap(&s.pending, &batch)
                s.waiting = batch.isEmpty && !s.stopping
                return s.stopping
            }
            for block in batch {
                write(block)
                shared.recycle(block)
            }
            batch.removeAll(keepingCapacity: true)
            writeHoles()
            syncIfDue()
            if stopping && shared.state.withLock({ $0.pending.isEmpty }) {
                closeFile()
                return
            }
            if shared.state.withLock({ $0.waiting }) {
                _ = shared.wake.wait(timeout: .now() + .milliseconds(syncWaitMilliseconds))
                shared.state.withLock { $0.waiting = false }
            }
        }
    }

    private var syncWaitMilliseconds: Int {
        if case .every(let interval) = configuration.sync { return max(1, Int(interval.nanoseconds / 1_000_000)) }
        return 1000
    }

    private func write(_ block: JournalBlock) {
        let bytes = block.sealed()
        guard prepareFile(for: block.firstTime, adding: bytes.count, messages: block.count), writeAll(bytes) else {
            var lost = JournalHoles()
            lost.add(payload: block.payload, count: block.count)
            shared.addHoles(lost, reason: .writeFailed)
            return
        }
        messages += UInt64(block.count)
        if firstTime == nil { firstTime = block.firstTime }
        lastTime = block.lastTime
        shared.state.withLock { s in
            s.counters.messages += UInt64(block.count)
            s.counters.bytes += UInt64(bytes.count)
        }
        if case .always = configuration.sync { sync() }
    }

    /// Writes the hole block of what was lost since the last one, once a file takes writes.
    private func writeHoles() {
        let (holes, reason) = shared.state.withLock { s in
            defer { s.holes = JournalHoles() }
            return (s.holes, s.holeReason)
        }
        guard !holes.isEmpty else { return }
        let payload = holes.payload()
        let now = WallClock.nanoseconds()
        let header = JournalBlockHeader(
            kind: .hole, flags: reason.rawValue, length: UInt32(payload.count), count: UInt32(holes.ranges.count),
            firstTime: now, lastTime: now, payloadCRC: CRC32.checksum(payload))
        let bytes = header.encoded() + payload
        let written = prepareFile(for: now, adding: bytes.count) && bytes.withUnsafeBytes { writeAll($0) }
        if !written {
            // Still failing: keep the ranges for the next attempt.
            shared.state.withLock { s in
                var kept = holes
                kept.merge(s.holes)
                s.holes = kept
            }
            return
        }
        shared.emit(.hole(holes, reason: reason))
    }

    /// Opens the first file, or the next part at a new UTC day or the size limit.
    private func prepareFile(for time: Int64, adding count: Int, messages added: UInt32 = 0) -> Bool {
        let blockDay = JournalDay.of(time).day
        if fd >= 0 && blockDay == day && size + Int64(count) <= configuration.fileSize
            && messages + UInt64(added) <= UInt64(UInt32.max) { return true }
        if fd >= 0 { closeFile() }
        part += 1
        let now = WallClock.nanoseconds()
        let name = JournalFileName(created: now.floorDivided(by: 1_000_000_000).0, epoch: epoch, part: part)
        let newPath = configuration.directory + "/" + name.description
        // Made under a name no reader lists, locked, given its header, then renamed: another
        // process's repair never sees it without a lock or a header.
        let temporary = configuration.directory + "/." + name.description + ".new"
        let newFD = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard newFD >= 0 else {
            part -= 1
            reportFailure(newPath, "cannot create: \(String(cString: strerror(errno)))")
            return false
        }
        _ = flock(newFD, LOCK_EX | LOCK_NB)
        let header = JournalFileHeader(epoch: epoch, created: now, day: blockDay, part: part, publisher: publisher).encoded()
        fd = newFD
        path = newPath
        size = 0
        day = blockDay
        messages = 0
        firstTime = nil
        guard header.withUnsafeBytes({ writeAll($0) }), rename(temporary, newPath) == 0 || reportRename(newPath) else {
            close(fd)
            unlink(temporary)
            fd = -1
            part -= 1
            return false
        }
        shared.state.withLock { $0.counters.files += 1 }
        shared.emit(.started(file: newPath))
        applyRetention()
        return true
    }

    /// Writes at the end of the open file; on a refusal cuts the file back to its last whole
    /// block and reports (once per failure run).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = String(cString: strerror(n == 0 ? EIO : errno))
                if ftruncate(fd, off_t(size)) != 0 || lseek(fd, off_t(size), SEEK_SET) < 0 {
                    // The file cannot be put right: leave it (its tail is cut when repaired).
                    close(fd)
                    fd = -1
                }
                shared.state.withLock { $0.counters.writeErrors += 1 }
                reportFailure(path, error)
                return false
            }
            done += n
        }
        size += Int64(bytes.count)
        unsynced = true
        failing = false
        return true
    }

    /// Reports a failed rename; always false.
    private func reportRename(_ file: String) -> Bool {
        reportFailure(file, "cannot rename into place: \(String(cString: strerror(errno)))")
        return false
    }

    private func reportFailure(_ file: String, _ error: String) {
        guard !failing else { return }
        failing = true
        shared.emit(.writeFailed(file: file, error: error))
    }

    private func syncIfDue() {
        guard unsynced, fd >= 0, case .every(let interval) = configuration.sync,
              MonotonicClock.nanoseconds() - lastSync >= interval.nanoseconds,
              !syncing.load(ordering: .acquiring) else { return }
        let copy = dup(fd)
        guard copy >= 0 else { return sync() }
        unsynced = false
        lastSync = MonotonicClock.nanoseconds()
        syncing.store(true, ordering: .releasing)
        syncQueue.async { [self] in
            _ = fdatasync(copy)
            close(copy)
            syncing.store(false, ordering: .releasing)
        }
    }

    private func sync() {
        guard fd >= 0 else { return }
        _ = fdatasync(fd)
        unsynced = false
        lastSync = MonotonicClock.nanoseconds()
    }

    /// Ends the open file with an end block and syncs it.
    private func closeFile() {
        guard fd >= 0 else { return }
        let end = JournalBlockHeader(
            kind: .end, length: 0, count: UInt32(clamping: messages), firstTime: firstTime ?? 0, lastTime: lastTime,
            payloadCRC: CRC32.checksum([])
        ).encoded()
        _ = end.withUnsafeBytes { writeAll($0) }
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
        fd = -1
    }

    private func applyRetention() {
        let removal = JournalDirectory.retain(
            configuration.directory, configuration.retention, now: WallClock.nanoseconds(), keep: fd >= 0 ? path : nil)
        guard !removal.files.isEmpty else { return }
        shared.state.withLock { $0.counters.removedFiles += UInt64(removal.files.count) }
        shared.emit(.removed(removal))
    }
}
