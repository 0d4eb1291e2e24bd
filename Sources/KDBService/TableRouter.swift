import KDB
import TickBusCore

/// Puts each record into the batch of its table: trades, quotes and bars, with HISTORICAL
/// records in the `<table>Hist` batches when `separateHistorical` is set. Records that have no
/// table (status, heartbeats) are counted as unmapped and dropped.
final class TableRouter {
    let separateHistorical: Bool
    /// Live batches by ``TickTable`` raw value, then the historical ones when kept apart.
    let batches: [TickBatch]
    private(set) var unmapped: UInt64 = 0

    init(separateHistorical: Bool, capacity: Int) {
        self.separateHistorical = separateHistorical
        var all = TickTable.allCases.map { TickBatch(table: $0, capacity: capacity) }
        if separateHistorical {
            all += TickTable.allCases.map { TickBatch(table: $0, historical: true, capacity: capacity) }
        }
        batches = all
    }

    @inline(__always)
    private func batch(_ table: TickTable, _ header: RecordHeader) -> TickBatch {
        let historical = separateHistorical && header.flags.contains(.historical)
        return batches[table.rawValue + (historical ? TickTable.allCases.count : 0)]
    }

    /// Appends `record` to its batch and returns that batch; nil when the record has no table.
    @inline(__always)
    func route(_ record: Record) -> TickBatch? {
        switch record {
        case .trade(let t):
            let b = batch(.trade, t.header)
            b.append(t)
            return b
        case .quote(let q):
            let b = batch(.quote, q.header)
            b.append(q)
            return b
        case .bar(let bar):
            let b = batch(.bar, bar.header)
            let source = (try? FixedString(Topic(of: record).kind.code)) ?? FixedString()
            b.append(bar, source: source)
            return b
        case .status, .heartbeat:
            unmapped += 1
            return nil
        }
    }
}
