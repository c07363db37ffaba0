import Postgres

/// The fence of the reconciler action now running, if any: set by `Executor.run` around each
/// action, inherited by what it calls (and by the tasks that spawns).
enum Fencing {
    @TaskLocal static var current: Fence?
}

/// The services schema's database. Called by a reconciler action (`Fencing.current` set), every
/// write runs in a transaction that first checks the action's lease is still current, so a deposed
/// leader's action writes nothing to the services schema once a new leader holds the lease. The
/// check takes no lock (`Fence.check`): share-locking the lease row from every services write made
/// the lease row a hot spot (the suite ran 43 s without the fence, 50 s with share locks). Called by
/// the API (a claim, the services routes), it is the plain pool.
struct ServicesDB: Sendable {
    let pool: PostgresPool

    /// A read runs as it is; a write proves the fence first, in its own transaction.
    func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        guard let fence = Fencing.current, !Self.isRead(sql) else { return try await pool.query(sql, parameters) }
        return try await fence.check { try await $0.query(sql, parameters) }
    }

    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard let fence = Fencing.current else { return try await pool.transaction(body) }
        return try await fence.check(body)
    }

    /// A statement that only reads: it starts with SELECT (writes here start with INSERT, UPDATE,
    /// DELETE or WITH).
    static func isRead(_ sql: String) -> Bool {
        sql.utf8.drop { $0 == 32 || $0 == 10 }.prefix(6).map { $0 | 0x20 } == Array("select".utf8)
    }
}
