import Foundation
import Testing
@testable import Postgres
import TestSupport

@Suite struct PostgresTests {
    struct Boom: Error {}

    @Test func transactionRollsBackWhenBodyThrows() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 2)
        _ = try await pool.query("CREATE TABLE t (v text)")
        await #expect(throws: Boom.self) {
            try await pool.transaction { connection in
                _ = try await connection.query("INSERT INTO t VALUES ($1)", ["kept?"])
                throw Boom()
            }
        }
        let count = try await pool.query("SELECT count(*) AS n FROM t").first!.decode("n", as: Int.self)
        #expect(count == 0)
        // The connection that rolled back is reusable and not left inside the transaction.
        let state = try await pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'")
        #expect(try state.first!.decode("n", as: Int.self) == 0)
    }

    @Test func committedTransactionIsVisible() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 2)
        _ = try await pool.query("CREATE TABLE t (v int)")
        try await pool.transaction { c in
            _ = try await c.query("INSERT INTO t VALUES ($1), ($2)", [1, 2])
        }
        let sum = try await pool.query("SELECT sum(v)::int AS s FROM t").first!.decode("s", as: Int.self)
        #expect(sum == 3)
    }

    @Test func manyTasksShareTheSmallPool() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 4)
        let results = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let row = try await pool.query("SELECT $1::int * 2 AS v, pg_backend_pid() AS pid", [i]).first!
                    return (i, try row.decode("v"), try row.decode("pid"))
                }
            }
            var all: [(Int, Int, Int)] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.1 == $0.0 * 2 })
        #expect(Set(results.map(\.2)).count <= 4, "never more server sessions than the pool size")
    }

    /// A checkout that finds every connection borrowed is counted with how long it waited; one
    /// that finds a free connection is not.
    @Test func aCheckoutThatWaitsIsCounted() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        _ = try await pool.query("SELECT 1")
        #expect(await pool.checkoutStats.waits == 0)
        let (held, hold) = AsyncStream<Void>.makeStream()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { _ in
                hold.yield()
                for await _ in gate { break }
            }
        }
        for await _ in held { break }
        #expect(await pool.checkoutStats.borrowed == 1)
        let waiter = Task { try await pool.query("SELECT 2") }
        // The waiter is queued once the pool has it: then the holder lets go.
        while await pool.checkoutStats.queued == 0 { await Task.yield() }
        open.yield()
        try await holder.value
        _ = try await waiter.value
        let stats = await pool.checkoutStats
        #expect(stats.checkouts == 3 && stats.waits == 1 && stats.borrowed == 0 && stats.queued == 0 && stats.size == 1)
        #expect(stats.waited > .zero && stats.longestWait == stats.waited)
        await pool.close()
    }

    /// `warm` opens the connections before any checkout, each with the statements prepared: the
    /// sessions exist in Postgres, and every one of them holds the statement.
    @Test func warmOpensConnectionsWithTheirStatementsPrepared() async throws {
        let url = try await TestDatabase.create()
        let pool = PostgresPool(url: url, size: 4)
        let statement = PreparedStatement("warm_test_statement", "SELECT $1::int + 1 AS next")
        await pool.warm(3, preparing: [statement])
        #expect(await pool.checkoutStats.checkouts == 0)
        let observer = PostgresPool(url: url, size: 1)
        let sessions: Int = try await observer.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").first!.decode("n")
        #expect(sessions == 3)
        // Three borrowed at once are the three warmed ones, each with the statement prepared.
        let (held, hold) = AsyncStream<Void>.makeStream()
        let gates = (0..<3).map { _ in AsyncStream<Void>.makeStream() }
        let holders = gates.map { gate in
            Task { () -> Int in
                try await pool.withConnection { c in
                    let n: Int = try await c.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'warm_test_statement'").first!.decode("n")
                    hold.yield()
                    for await _ in gate.stream { break }
                    return n
                }
            }
        }
        var borrowed = 0
        for await _ in held { borrowed += 1; if borrowed == 3 { break } }
        #expect(try await observer.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").first!.decode("n", as: Int.self) == 3,
            "no connection was opened for them")
        for gate in gates { gate.continuation.yield() }
        for holder in holders { #expect(try await holder.value == 1) }
        #expect(try await pool.query(statement, [41]).first!.decode("next", as: Int.self) == 42)
        await pool.close()
        await observer.close()
    }

    @Test func injectionTextStaysData() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        _ = try await pool.query("CREATE TABLE victims (name text)")
        let hostile = "x'); DROP TABLE victims; --"
        _ = try await pool.query("INSERT INTO victims VALUES ($1)", [hostile])
        let rows = try await pool.query("SELECT name FROM victims WHERE name = $1", [hostile])
        #expect(try rows.first?.decode("name", as: String.self) == hostile)
        let exists = try await pool.query("SELECT to_regclass('victims') IS NOT NULL AS e").first!.decode("e", as: Bool.self)
        #expect(exists)
    }

    /// A C string ends at its first NUL, so `"a\0b"` would have been sent as `"a"` and matched
    /// another row. The wrapper refuses it before anything is sent.
    @Test func nulInAParameterIsRefusedNotTruncated() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        _ = try await pool.query("CREATE TABLE names (name text)")
        _ = try await pool.query("INSERT INTO names VALUES ($1)", ["a"])
        do {
            _ = try await pool.query("DELETE FROM names WHERE name = $1", ["a\u{0}b"])
            Issue.record("a parameter with a NUL was sent")
        } catch let error as PostgresError {
            guard case .nulInParameter(index: 0) = error else { Issue.record("\(error)"); return }
            #expect(error.isUnstorableText)
        }
        #expect(try await pool.query("SELECT count(*) AS n FROM names").first!.decode("n", as: Int.self) == 1)
        // The connection is still good.
        #expect(try await pool.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
    }

    @Test func typedValuesRoundTrip() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        let date = Date(timeIntervalSince1970: 1_790_000_000.123456)
        let id = UUID()
        let row = try await pool.query(
            "SELECT $1::timestamptz AS d, $2::uuid AS u, $3::boolean AS b, $4::float8 AS f, $5::text AS n, $6::jsonb AS j",
            [date, id, true, 2.5, Optional<String>.none, JSONText("{\"a\": [1, 2]}")]).first!
        #expect(abs(try row.decode("d", as: Date.self).timeIntervalSince(date)) < 0.000_001)
        #expect(try row.decode("u", as: UUID.self) == id)
        #expect(try row.decode("b", as: Bool.self))
        #expect(try row.decode("f", as: Double.self) == 2.5)
        #expect(try row.decode("n", as: String?.self) == nil)
        #expect(try row.decode("j", as: JSONText.self).text == "{\"a\": [1, 2]}")
        #expect(throws: PostgresError.self) { try row.decode("n", as: String.self) }
    }

    @Test func sessionTimeoutsAreSet() async throws {
        var settings = SessionSettings()
        settings.statementTimeoutMs = 1234
        settings.idleInTransactionTimeoutMs = 5678
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1, settings: settings)
        let row = try await pool.query("SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i").first!
        #expect(try row.decode("s", as: String.self) == "1234ms")
        #expect(try row.decode("i", as: String.self) == "5678ms")
        // A statement over the limit is cancelled by the server with a clear error.
        await #expect(throws: PostgresError.self) { _ = try await pool.query("SELECT pg_sleep(5)") }
    }

    @Test func serverErrorsCarryTheirSQLState() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        _ = try await pool.query("CREATE TABLE u (k text PRIMARY KEY)")
        _ = try await pool.query("INSERT INTO u VALUES ($1)", ["a"])
        do {
            _ = try await pool.query("INSERT INTO u VALUES ($1)", ["a"])
            Issue.record("a duplicate key was accepted")
        } catch PostgresError.server(let e) {
            #expect(e.isUniqueViolation)
            #expect(e.constraint == "u_pkey")
        }
    }

    @Test func reconnectsAfterServerRestart() async throws {
        let cluster = try await TemporaryCluster()
        
        let pool = PostgresPool(url: cluster.url, size: 1)
        #expect(try await pool.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
        try await cluster.restart()
        // The first query on the old connection may fail, with a clear error; the next succeeds.
        do {
            _ = try await pool.query("SELECT 1 AS one")
        } catch let error as PostgresError {
            #expect(error.isUnavailable, "unexpected error kind: \(error)")
        }
        #expect(try await pool.query("SELECT 2 AS two").first!.decode("two", as: Int.self) == 2)
        await pool.close()
        await cluster.destroy()
    }

    static let doubled = PreparedStatement("tests_doubled", "SELECT $1::int * 2 AS v, pg_backend_pid() AS pid")

    @Test func preparedStatementIsPlannedOncePerSessionAndAgainAfterAReconnect() async throws {
        let url = try await TestDatabase.create()
        let pool = PostgresPool(url: url, size: 1)
        for i in 1...3 {
            #expect(try await pool.query(Self.doubled, [i]).first!.decode("v", as: Int.self) == i * 2)
        }
        let statements = try await pool.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE name = 'tests_doubled'")
        #expect(try statements.first!.decode("n", as: Int.self) == 1, "prepared once on the session, not per call")
        // The session goes away behind the pool's back: its prepared statements go with it.
        let pid = try await pool.query(Self.doubled, [0]).first!.decode("pid", as: Int.self)
        let admin = PostgresPool(url: url, size: 1)
        _ = try await admin.query("SELECT pg_terminate_backend($1)", [pid])
        do {
            _ = try await pool.query(Self.doubled, [1])
        } catch let error as PostgresError {
            #expect(error.isUnavailable, "unexpected error kind: \(error)")
        }
        let row = try await pool.query(Self.doubled, [21]).first!
        #expect(try row.decode("v", as: Int.self) == 42, "prepared again on the new session")
        #expect(try row.decode("pid", as: Int.self) != pid)
        await pool.close()
        await admin.close()
    }

    /// Plain-text queries are prepared once per session and reused; past the cache's capacity the
    /// least recently used is deallocated between transactions, and inside one a new text runs
    /// unprepared, so the session never holds more than the capacity, and every answer is right.
    @Test func plainQueriesArePreparedOncePerSessionWithinABoundedCache() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        let cached = "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'convos_s%'"
        for i in 1...3 { #expect(try await pool.query("SELECT $1::int + 1 AS v", [i]).first!.decode("v", as: Int.self) == i + 1) }
        let same = try await pool.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = 'SELECT $1::int + 1 AS v'")
        #expect(try same.first!.decode("n", as: Int.self) == 1, "one statement for three calls")
        // More distinct texts than the cache holds, between transactions: the oldest go.
        for i in 0..<(StatementCache.capacity + 40) {
            #expect(try await pool.query("SELECT $1::int + \(i) AS v", [1]).first!.decode("v", as: Int.self) == i + 1)
        }
        #expect(try await pool.query(cached).first!.decode("n", as: Int.self) == StatementCache.capacity)
        // Inside a transaction the full cache evicts nothing; new texts still answer, and an error
        // there (the transaction aborted) is the caller's as always.
        try await pool.transaction { c in
            for i in 0..<10 {
                let v = try await c.query("SELECT $1::int * \(i + 2) AS v", [3]).first!.decode("v", as: Int.self)
                #expect(v == 3 * (i + 2))
            }
        }
        await #expect(throws: PostgresError.self) {
            try await pool.transaction { c in _ = try await c.query("SELECT $1::int / 0 AS v", [1]) }
        }
        #expect(try await pool.query("SELECT $1::int - 1 AS v", [5]).first!.decode("v", as: Int.self) == 4)
        #expect(try await pool.query(cached).first!.decode("n", as: Int.self) == StatementCache.capacity)
        // Session commands are left as they are.
        #expect(!StatementCache.cacheable("BEGIN") && !StatementCache.cacheable("SET TimeZone = 'UTC'"))
        #expect(StatementCache.cacheable("\n  WITH x AS (SELECT 1) SELECT * FROM x") && StatementCache.cacheable("(SELECT 1)"))
        await pool.close()
    }

    @Test func listenerLeaksNoConnectionWhileTheDatabaseIsDown() async throws {
        let url = "postgresql://postgres@127.0.0.1:\(try freePort())/postgres?connect_timeout=1"
        let listener = try #require(PostgresListener(url: url, channels: ["convos_test"], retryDelay: 0.01) { _, _ in })
        defer { listener.stop() }
        // Counted, not timed: wait for the attempts, however long they take on a loaded machine.
        while listener.connectionCounts.attempts < 20 { try await Task.sleep(for: .milliseconds(20)) }
        let counts = listener.connectionCounts
        #expect(counts.open <= 1, "\(counts.attempts) attempts left \(counts.open) connections allocated")
    }

    @Test func unreachableServerFailsFastWithConnectionFailed() async throws {
        let pool = PostgresPool(url: "postgresql://postgres@127.0.0.1:\(try freePort())/postgres", size: 1)
        do {
            _ = try await pool.query("SELECT 1")
            Issue.record("query on a closed port succeeded")
        } catch let error as PostgresError {
            #expect(error.isUnavailable)
            #expect("\(error)".contains("database unreachable"))
        }
    }

    @Test func migrationsApplyOnceUnderConcurrentRunners() async throws {
        let url = try await TestDatabase.create()
        let migrator = Migrator([
            Migration(version: 1, name: "one", sql: "CREATE TABLE a (x int); CREATE TABLE b (y int);"),
            Migration(version: 2, name: "two", sql: "ALTER TABLE a ADD COLUMN z int;"),
        ])
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 { group.addTask { try await migrator.migrate(PostgresPool(url: url, size: 1)) } }
            var all: [Int] = []
            for try await a in group { all += a }
            return all
        }
        #expect(applied.sorted() == [1, 2], "each version applied by exactly one runner")
        let pool = PostgresPool(url: url, size: 1)
        #expect(try await migrator.currentVersion(pool) == 2)
        #expect(try await migrator.migrate(pool).isEmpty)
    }

    @Test func failedMigrationLeavesNoTrace() async throws {
        let pool = PostgresPool(url: try await TestDatabase.create(), size: 1)
        let migrator = Migrator([Migration(version: 1, name: "bad", sql: "CREATE TABLE ok (x int); SELECT nope;")])
        await #expect(throws: MigrationError.self) { try await migrator.migrate(pool) }
        #expect(try await migrator.currentVersion(pool) == 0)
        let exists = try await pool.query("SELECT to_regclass('ok') IS NOT NULL AS e").first!.decode("e", as: Bool.self)
        #expect(!exists)
    }
}
