/// A small pool of connections. Callers borrow one with `withConnection` or `transaction`.
///
/// Connections are opened lazily up to `size`; a caller that finds none free waits in FIFO order.
/// A connection that broke is reconnected on its next checkout, so after a server restart the
/// first query on each old connection fails with `connectionLost` and the next one succeeds.
public actor PostgresPool {
    public let url: String
    public let size: Int
    private let settings: SessionSettings
    private var idle: [PostgresConnection] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<PostgresConnection, any Error>] = []
    private var closed = false
    private var stats = CheckoutStats()

    /// How busy the pool has been: checkouts that found every connection borrowed, and how long
    /// they waited (`/status`). A slow query that Postgres never saw as slow waited here or for a core.
    public struct CheckoutStats: Sendable, Equatable {
        public var checkouts = 0
        public var waits = 0
        public var waited: Duration = .zero
        public var longestWait: Duration = .zero
        public var borrowed = 0
        /// Checkouts waiting for a connection now.
        public var queued = 0
        public var size = 0
        public init() {}
    }

    public var checkoutStats: CheckoutStats {
        var s = stats
        s.borrowed = opened - idle.count
        s.queued = waiters.count
        s.size = size
        return s
    }

    public init(url: String, size: Int = 4, settings: SessionSettings = SessionSettings()) {
        self.url = url
        self.size = max(1, size)
        self.settings = settings
    }

    /// Borrows a connection for `body` and returns it afterwards, even when `body` throws.
    public nonisolated func withConnection<T: Sendable>(
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await checkout()
        do {
            let value = try await body(connection)
            await checkin(connection)
            return value
        } catch {
            await checkin(connection)
            // The server went away (a restart, a failover): every idle connection is dead too.
            // Mark them, so each reconnects on its next checkout instead of failing one request.
            if let e = error as? PostgresError, case .connectionLost = e { await invalidateIdle() }
            throw error
        }
    }

    /// Runs `body` inside BEGIN/COMMIT at READ COMMITTED; any throw rolls back and rethrows.
    public nonisolated func transaction<T: Sendable>(
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.begin()
            do {
                let value = try await body(connection)
                try await connection.commit()
                return value
            } catch {
                await connection.rollbackQuietly()
                throw error
            }
        }
    }

    /// Runs one statement on any free connection.
    public nonisolated func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql, parameters) }
    }

    /// Runs one prepared statement on any free connection (prepared there on first use).
    public nonisolated func query(_ statement: PreparedStatement, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        try await withConnection { try await $0.query(statement, parameters) }
    }

    /// Opens connections until `count` are open (at most `size`), each with `statements` prepared,
    /// and leaves them idle: the first requests after a start pay for no connecting. Used for the
    /// claims' pool, whose first claims at 200/s waited up to 171 ms for connections being opened.
    /// A connection that fails is dropped; its slot opens again on demand.
    public func warm(_ count: Int, preparing statements: [PreparedStatement] = []) async {
        var made: [PostgresConnection] = []
        while opened < min(count, size), !closed {
            made.append(openSlot())
        }
        for connection in made {
            do {
                try await connection.reconnectIfNeeded()
                for statement in statements { try await connection.prepare(statement) }
                checkin(connection)
            } catch {
                opened -= 1
            }
        }
    }

    private func invalidateIdle() async {
        for connection in idle { await connection.markBroken() }
    }

    /// Closes idle connections and fails waiters; borrowed ones close when returned.
    public func close() {
        closed = true
        idle.removeAll()
        for waiter in waiters { waiter.resume(throwing: PostgresError.closed) }
        waiters.removeAll()
    }

    private func checkout() async throws -> PostgresConnection {
        guard !closed else { throw PostgresError.closed }
        let connection: PostgresConnection
        if let free = idle.popLast() {
            connection = free
        } else if opened < size {
            connection = openSlot()
        } else {
            let started = ContinuousClock.now
            connection = try await withCheckedThrowingContinuation { waiters.append($0) }
            let waited = ContinuousClock.now - started
            stats.waits += 1
            stats.waited += waited
            stats.longestWait = max(stats.longestWait, waited)
        }
        stats.checkouts += 1
        do {
            try await connection.reconnectIfNeeded()
            return connection
        } catch {
            // Keep the slot: the broken connection goes back and is retried by the next caller.
            checkin(connection)
            throw error
        }
    }

    /// A new connection in a free slot (connected by its first use).
    private func openSlot() -> PostgresConnection {
        opened += 1
        return PostgresConnection(url: url, settings: settings, name: "postgres-\(opened)")
    }

    private func checkin(_ connection: PostgresConnection) {
        if closed { opened -= 1; return }
        if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }
}

extension PostgresConnection {
    func begin() throws {
        _ = try query("BEGIN")
        inTransaction = true
    }

    func commit() throws {
        inTransaction = false
        _ = try query("COMMIT")
    }

    /// Rolls back; if even that fails the connection is dropped, so no caller inherits the transaction.
    func rollbackQuietly() {
        inTransaction = false
        do { _ = try query("ROLLBACK") } catch { markBroken() }
    }
}
