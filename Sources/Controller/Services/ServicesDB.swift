import Postgres

/// The fence of the reconciler action now running, if any: set by `Executor.run` around each
/// action, inherited by what it calls (and by the tasks that spawns).
enum Fencing {
    @TaskLocal static var current: Fence?
}

/// The services schema's database. Called by a reconciler action (`Fencing.current` set), every
/// statement runs in a transaction that first proves the action's lease is still current, so a
/// deposed leader's in-flight action writes nothing to the services schema, as it writes nothing
/// to the pool schema. Called by the API (a claim, the services routes), it is the plain pool.
struct ServicesDB: Sendable {
    let pool: PostgresPool

    func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        guard let fence = Fencing.current else { return try await pool.query(sql, parameters) }
        return try await fence.transaction { try await $0.query(sql, parameters) }
    }

    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard let fence = Fencing.current else { return try await pool.transaction(body) }
        return try await fence.transaction(body)
    }
}
