import Bus
import KDB
import NIOCore
import Synchronization
import TickBusCore
import ZeroMQ

/// The bus side of `kdb serve`, on the one thread that owns the bus subscriber. Clients that hold
/// the same subscription to a table (the same symbols) form a group with one batch; a batch is sent
/// when it has `flushRows` rows or its oldest row is `flushInterval` old, encoded once into one
/// `ByteBuffer`, and handed to the group's clients with one task per event loop.
///
/// Channels report subscriptions and departures through ``post(_:)``; the thread applies them after
/// each wait on the bus, before the record it read. A handler posts a `.u.sub` and writes its reply
/// in one event-loop turn, so no `upd` reaches a client before that reply (the `upd` is a later task
/// on the same loop), and every record read after the reply went out reaches the client.
final class SubscriptionFanOut: Sendable {
    enum Change: Sendable {
        /// The client's subscription to each of `tables` is now `syms` (nil: every symbol).
        case subscribe(KDBClient, tables: [String], syms: Set<FixedString>?)
        case leave(id: Int)
    }

    private let server: KDBServer
    private let inbox = Mutex<[Change]>([])

    init(server: KDBServer) { self.server = server }

    /// Tells the bus thread about a change; it applies it before the next record it reads.
    func post(_ change: Change) { inbox.withLock { $0.append(change) } }

    /// The changes posted since the last call, oldest first.
    func takeChanges() -> [Change] {
        inbox.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }

    /// Clients sharing one subscription to one table, and the batch built for them.
    private final class Group {
        let syms: Set<FixedString>?
        let batch: TickBatch
        /// The clients by event loop: one task per loop carries a message to all of them.
        var loops: [(loop: any EventLoop, clients: [KDBClient])] = []
        var clients = 0
        var firstRowAt: Int64 = 0

        init(syms: Set<FixedString>?, batch: TickBatch) {
            self.syms = syms
            self.batch = batch
        }

        func add(_ client: KDBClient) {
            clients += 1
            let loop = client.eventLoop
            if let i = loops.firstIndex(where: { $0.loop === loop }) {
                loops[i].clients.append(client)
            } else {
                loops.append((loop, [client]))
            }
        }
    }

    /// Reads the bus until the server stops; throws when the subscriber fails.
    func run(context: ZMQContext, configuration: KDBServer.Configuration) throws {
        let subscriber = try Subscriber(
            context: context,
            configuration: .init(endpoints: configuration.bus, filters: configuration.filters, security: configuration.busSecurity))
        let tables = server.tables.entries
        let encoder = KBuffer(capacity: 1 << 16)
        let allocator = ByteBufferAllocator()
        let intervalNs = configuration.flushInterval.nanoseconds
        let waitMs = max(1, intervalNs / 4_000_000)
        var subscriptions: [Int: (client: KDBClient, tables: [String: Set<FixedString>?])] = [:]
        var groups: [[Group]] = Array(repeating: [], count: tables.count)
        var local = KDBServer.Counters()
        var nextShare = MonotonicClock.nanoseconds()

        func flush(_ group: Group) {
            guard group.batch.rows > 0 else { return }
            encoder.removeAll()
            let dayNs: Int64 = 86_400_000_000_000
            group.batch.encodeTable(time: ((WallClock.nanoseconds() % dayNs) + dayNs) % dayNs, into: encoder)
            var buffer = allocator.buffer(capacity: encoder.count)
            buffer.writeBytes(encoder.bytes)
            let message = buffer
            for (loop, clients) in group.loops {
                loop.execute {
                    for client in clients { client.handler.value.deliver(message) }
                }
            }
            local.messagesQueued += UInt64(group.clients)
            group.batch.removeAll()
        }

        func apply(_ changes: [Change]) {
            for group in groups.joined() { flush(group) }
            for change in changes {
                switch change {
                case .subscribe(let client, let names, let syms):
                    var entry = subscriptions[client.id] ?? (client, [:])
                    for name in names { entry.tables[name] = syms }
                    subscriptions[client.id] = entry
                case .leave(let id):
                    subscriptions[id] = nil
                }
            }
            let holders = subscriptions.values.sorted { $0.client.id < $1.client.id }
            groups = tables.map { entry in
                let name = entry.table.name(historical: entry.historical)
                var byFilter: [Set<FixedString>?: Group] = [:]
                for holder in holders {
                    guard let syms = holder.tables[name] else { continue }
                    let group = byFilter[syms] ?? Group(syms: syms, batch: TickBatch(
                        table: entry.table, historical: entry.historical, capacity: 256))
                    group.add(holder.client)
                    byFilter[syms] = group
                }
                return Array(byFilter.values)
            }
        }

        let perTable = TickTable.allCases.count
        while !server.isStopping {
            let event = try subscriber.next(timeout: .milliseconds(waitMs))
            // After the wait: a subscription posted before this record was read applies to it.
            let changes = takeChanges()
            if !changes.isEmpty { apply(changes) }
            let now = MonotonicClock.nanoseconds()
            if case .record(let record) = event {
                local.records += 1
                let table: TickTable?, header: RecordHeader
                switch record {
                case .trade(let t): (table, header) = (.trade, t.header)
                case .quote(let q): (table, header) = (.quote, q.header)
                case .bar(let b): (table, header) = (.bar, b.header)
                case .status(let s): (table, header) = (nil, s.header)
                case .heartbeat(let h): (table, header) = (nil, h.header)
                }
                if let table {
                    let historical = configuration.separateHistorical && header.flags.contains(.historical)
                    for group in groups[table.rawValue + (historical ? perTable : 0)]
                    where group.syms?.contains(header.symbol) ?? true {
                        switch record {
                        case .trade(let t): group.batch.append(t)
                        case .quote(let q): group.batch.append(q)
                        case .bar(let b): group.batch.append(b, source: (try? FixedString(Topic(of: record).kind.code)) ?? FixedString())
                        default: break
                        }
                        if group.batch.rows == 1 { group.firstRowAt = now }
                        if group.batch.rows >= configuration.flushRows { flush(group) }
                    }
                } else {
                    local.unmapped += 1
                }
            }
            for group in groups.joined() where group.batch.rows > 0 && now - group.firstRowAt >= intervalNs {
                flush(group)
            }
            if now >= nextShare {
                nextShare = now + 100_000_000
                let snapshot = local
                server.count {
                    $0.records = snapshot.records
                    $0.unmapped = snapshot.unmapped
                    $0.messagesQueued = snapshot.messagesQueued
                }
            }
        }
    }
}
