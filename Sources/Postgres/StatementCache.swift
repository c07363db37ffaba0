/// The statements one connection has prepared from plain SQL text, by that text, with the least
/// recently used found when the cache is full. Pure bookkeeping: `PostgresConnection` prepares and
/// deallocates; this only names and counts.
struct StatementCache {
    /// Enough for every distinct statement the controller runs; text built per call (none is, by
    /// design) would cycle through it rather than grow the session's memory.
    static let capacity = 256

    private var entries: [String: (name: String, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var nextName = 0

    /// Queries only: a plan is worth keeping for them, and session or transaction commands (BEGIN,
    /// SET, LISTEN) stay as they are.
    static func cacheable(_ sql: String) -> Bool {
        let head = sql.utf8.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D || $0 == 0x28 }.prefix(6)
        let word = String(decoding: head, as: UTF8.self).uppercased()
        return word.hasPrefix("SELECT") || word.hasPrefix("INSERT") || word.hasPrefix("UPDATE")
            || word.hasPrefix("DELETE") || word.hasPrefix("WITH")
    }

    var isFull: Bool { entries.count >= Self.capacity }

    /// The prepared name of `sql`, marking it used.
    mutating func name(for sql: String) -> String? {
        guard let entry = entries[sql] else { return nil }
        clock += 1
        entries[sql] = (entry.name, clock)
        return entry.name
    }

    /// A fresh name for `sql`; the caller prepares it. Call only when not full.
    mutating func insert(_ sql: String) -> String {
        nextName += 1
        clock += 1
        let name = "convos_s\(nextName)"
        entries[sql] = (name, clock)
        return name
    }

    /// Forgets `sql` (its prepare failed, or it was evicted).
    mutating func remove(_ sql: String) { entries[sql] = nil }

    /// The least recently used statement's text and name, removed.
    mutating func evict() -> (sql: String, name: String)? {
        guard let oldest = entries.min(by: { $0.value.used < $1.value.used }) else { return nil }
        entries[oldest.key] = nil
        return (oldest.key, oldest.value.name)
    }
}
