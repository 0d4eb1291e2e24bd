import Foundation
import NIOCore

/// A recorded stream: one JSON frame per line, loaded once at start-up and shared by every
/// connection (frames are sent as they are, malformed ones included).
struct ReplayData: Sendable {
    let config: SimulatorConfiguration.Replay
    let frames: [ByteBuffer]
    /// Milliseconds since the first timestamped frame (first `"t":` or `"s":` number of a line).
    let offsetsMs: [Int64?]
    let eventCounts: [Int]

    static func load(_ config: SimulatorConfiguration.Replay) throws -> ReplayData {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: config.path))
        } catch {
            throw SimulatorError.replayFile("cannot read \(config.path): \(error.localizedDescription)")
        }
        var frames: [ByteBuffer] = []
        var times: [Int64?] = []
        var counts: [Int] = []
        var first: Int64?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            let n = bytes.count
            while start < n {
                var end = start
                while end < n, bytes[end] != 0x0A { end += 1 }
                var last = end
                if last > start, bytes[last - 1] == 0x0D { last -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<last])
                start = end + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let evCount = occurrences(of: Array(#""ev":""#.utf8), in: line)
                let statusCount = occurrences(of: Array(#""ev":"status""#.utf8), in: line)
                // Handshake frames of a capture (only statuses) would repeat the simulator's own.
                if evCount > 0, evCount == statusCount { continue }
                frames.append(ByteBuffer(bytes: line))
                counts.append(evCount - statusCount)
                if let t = firstTimestamp(line) {
                    if first == nil { first = t }
                    times.append(t - first!)
                } else {
                    times.append(nil)
                }
            }
        }
        return ReplayData(config: config, frames: frames, offsetsMs: times, eventCounts: counts)
    }

    private static func occurrences(of needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>) -> Int {
        guard hay.count >= needle.count else { return 0 }
        var count = 0
        var i = 0
        while i <= hay.count - needle.count {
            var match = true
            for j in 0..<needle.count where hay[i + j] != needle[j] {
                match = false
                break
            }
            if match {
                count += 1
                i += needle.count
            } else {
                i += 1
            }
        }
        return count
    }

    /// The first `"t":<digits>` or `"s":<digits>` of a line, in ms.
    private static func firstTimestamp(_ line: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = line.count
        var i = 0
        while i + 4 < n {
            if line[i] == 0x22, line[i + 1] == UInt8(ascii: "t") || line[i + 1] == UInt8(ascii: "s"),
                line[i + 2] == 0x22, line[i + 3] == UInt8(ascii: ":")
            {
                var j = i + 4
                var v: Int64 = 0
                var digits = 0
                while j < n, line[j] >= 48, line[j] <= 57, digits < 19 {
                    v = v * 10 + Int64(line[j] - 48)
                    j += 1
                    digits += 1
                }
                if digits >= 10 {
                    // ms (13 digits); scale µs/ns down.
                    while v > 100_000_000_000_000 { v /= 1000 }
                    return v
                }
            }
            i += 1
        }
        return nil
    }
}
