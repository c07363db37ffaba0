import Postgres
import Sync

/// The fence of the reconciler action now running, if any: set by `Executor.run` around each
/// action, inherited by what it calls (and by the tasks that spawns).
package enum Fencing {
    @TaskLocal package static var current: LeaseTerm?
}

/// The services schema's database. Called by a reconciler action (`Fencing.current` set), every
/// statement first checks that the action's term still holds the lease by its local deadline
/// (`LeaseDeadline`), so a deposed leader's action writes nothing to the services schema once a new
/// leader can hold the lease. The check costs no round trip: a check of the lease row in each write's
/// own transaction (share-locked, then lock-free) made the suite 7 s, then 3 s slower, and gave no
/// stronger promise than the deadline does. Called by the API (a claim, the services routes), it is
/// the plain pool.
package struct ServicesDB: Sendable {
    package let pool: PostgresPool

    package func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        try Self.checkFence()
        return try await pool.query(sql, parameters)
    }

    package func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try Self.checkFence()
        return try await pool.transaction(body)
    }

    /// Throws `LeaseLost` when the reconciler action calling has outlived its term. Checked before
    /// each write here, and before each call that changes something outside (a runtime's
    /// `/pool/provision`, a tool's create): a leader frozen past its lease (a GC pause, a stopped
    /// VM) wakes to find its actions stop at the next step instead of acting for a term that ended.
    package static func checkFence() throws {
        if let term = Fencing.current, !term.deadline.holds { throw LeaseLost(token: term.token) }
    }
}
