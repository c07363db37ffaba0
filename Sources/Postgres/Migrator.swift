/// One numbered SQL migration. Versions are applied in ascending order, each exactly once.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies migrations under a session advisory lock, so concurrent replicas starting at once apply
/// each migration exactly once. Each migration runs in its own transaction together with its row in
/// `public.schema_migrations`, so a failed migration leaves no trace and is retried next start.
public struct Migrator: Sendable {
    /// Arbitrary constant shared by every replica: "convos" in ASCII.
    public static let lockKey = 0x636f6e766f73
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The latest version this binary knows.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies the pending migrations; returns the versions applied by this call.
    @discardableResult
    public func migrate(_ pool: PostgresPool) async throws -> [Int] {
        try await pool.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
            do {
                let applied = try await apply(on: connection)
                _ = try await connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
                return applied
            } catch {
                // A broken connection drops its session lock with it; otherwise release it here.
                _ = try? await connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
                throw error
            }
        }
    }

    /// The highest applied version, or 0 when none are (or the table does not exist yet).
    public func currentVersion(_ pool: PostgresPool) async throws -> Int {
        let rows = try await pool.query("""
            SELECT CASE WHEN to_regclass('public.schema_migrations') IS NULL THEN 0
                        ELSE (SELECT coalesce(max(version), 0) FROM public.schema_migrations) END AS version
            """)
        return try rows.first?.decode("version") ?? 0
    }

    private func apply(on connection: PostgresConnection) async throws -> [Int] {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """)
        let rows = try await connection.query("SELECT version FROM public.schema_migrations")
        let done = Set(try rows.rows.map { try $0.decode("version", as: Int.self) })
        var applied: [Int] = []
        for migration in migrations where !done.contains(migration.version) {
            try await connection.begin()
            do {
                try await connection.runScript(migration.sql)
                _ = try await connection.query(
                    "INSERT INTO public.schema_migrations (version, name) VALUES ($1, $2)",
                    [migration.version, migration.name])
                try await connection.commit()
            } catch {
                await connection.rollbackQuietly()
                throw MigrationError(version: migration.version, name: migration.name, underlying: error)
            }
            applied.append(migration.version)
        }
        return applied
    }
}

/// A migration failed; nothing of it was applied.
public struct MigrationError: Error, CustomStringConvertible {
    public let version: Int
    public let name: String
    public let underlying: any Error
    public var description: String { "migration \(version) (\(name)) failed: \(underlying)" }
}
