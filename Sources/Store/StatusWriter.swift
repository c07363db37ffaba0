import Foundation
import Postgres
import Resources
import Sync

/// The one writer of status: what each tick found changed, in one fenced transaction, and the
/// retention of events and of the change log. Called by the reconciler only.
package enum StatusWriter {
    /// One tick's writes: only what changed.
    package struct Writes: Sendable {
        /// Each status as JSON text (`JSONValue.encoded`), stored as it is.
        package var pools: [(name: String, status: JSONText)] = []
        package var templates: [(name: String, status: JSONText)] = []
        package var agents: [(name: String, status: JSONText)] = []
        /// Health as the status batch saw it, for `GET /v1/instances`.
        package var health: [Health] = []
        /// The failing keys, for every replica's `/status`: nil when unchanged.
        package var backoffs: Backoffs?

        package init() {}

        package var isEmpty: Bool { pools.isEmpty && templates.isEmpty && agents.isEmpty && health.isEmpty && backoffs == nil }
    }

    /// An instance's health, and the version and harness its runtime named.
    package struct Health: Sendable, Equatable {
        package var instance: String
        package var health: String
        package var version: String?
        package var runtime: String?
        package init(instance: String, health: String, version: String?, runtime: String?) {
            self.instance = instance
            self.health = health
            self.version = version
            self.runtime = runtime
        }
    }

    package struct Backoffs: Sendable {
        /// Keys new or changed.
        package var upserts: [FleetSummary.Backoff]
        /// Keys gone; nil: every key not in `keep` goes (a term's first write).
        package var removed: [String]?
        package var keep: [String]

        package init(upserts: [FleetSummary.Backoff], removed: [String]?, keep: [String]) {
            self.upserts = upserts
            self.removed = removed
            self.keep = keep
        }
    }

    package static func write(_ fence: Fence, _ w: Writes) async throws {
        guard !w.isEmpty else { return }
        // Sorted before the transaction opens; the statuses come encoded (thousands take a while
        // to encode, and the server ends a transaction left idle that long).
        let pools = StatusRows(w.pools), templates = StatusRows(w.templates), agents = StatusRows(w.agents)
        // The health rows' arrays too: a new term's are the whole fleet's.
        let health = [textArray(w.health.map(\.instance)), textArray(w.health.map(\.health)),
                      textArray(w.health.map(\.version)), textArray(w.health.map(\.runtime))]
        try await fence.transaction { c in
            if let b = w.backoffs {
                if let gone = b.removed {
                    if !gone.isEmpty { _ = try await c.query("DELETE FROM pool.action_backoffs WHERE key = ANY($1::text[])", [textArray(gone)]) }
                } else {
                    _ = try await c.query("DELETE FROM pool.action_backoffs WHERE NOT (key = ANY($1::text[]))", [textArray(b.keep)])
                }
                for u in b.upserts {
                    _ = try await c.query("""
                        INSERT INTO pool.action_backoffs (key, action, failures, last_error, next_attempt_at) VALUES ($1, $2, $3, $4, $5)
                        ON CONFLICT (key) DO UPDATE SET action = excluded.action, failures = excluded.failures, last_error = excluded.last_error,
                            next_attempt_at = excluded.next_attempt_at, updated_at = now()
                        """, [u.key, u.action ?? "", u.failures, u.lastError, u.nextAttempt])
                }
            }
            // Rows locked in apply's order (pools, templates, agents; each by name), as every writer
            // of these tables does: in another order, a re-apply during a status write deadlocked.
            try await setStatuses(c, "pool.pools", pools)
            try await setStatuses(c, "pool.agent_templates", templates)
            try await setStatuses(c, "pool.agents", agents)
            if !w.health.isEmpty {
                // A table of its own: no instance row is locked, so claims never skip one for this.
                _ = try await c.query("""
                    INSERT INTO pool.instance_health (instance_id, health, runtime_version, runtime_type)
                    SELECT u.id, u.h, u.v, u.r FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(id, h, v, r)
                    WHERE EXISTS (SELECT 1 FROM pool.instances i WHERE i.instance_id = u.id)
                    ON CONFLICT (instance_id) DO UPDATE SET health = excluded.health, runtime_version = excluded.runtime_version,
                        runtime_type = excluded.runtime_type, observed_at = now()
                    """, health)
            }
        }
    }

    /// Sets the statuses of `table`'s rows named in `writes`, a hundred rows to a statement, each
    /// hundred's rows locked in name order first. One statement for a burst's thousands held
    /// every claim made meanwhile back (p50 at 200 claims/s 3 ms to 140 ms in `claims.sh`); one
    /// statement a row took seconds of round trips.
    private static func setStatuses(_ c: PostgresConnection, _ table: String, _ rows: StatusRows) async throws {
        for chunk in rows.chunks {
            // Each chunk's arrays made as it goes (a hundred rows: quick): the whole burst's, made
            // at once, doubled the statuses' memory.
            let names = chunk.map(\.name)
            try await lockRows(c, table, names)
            _ = try await c.query("""
                UPDATE \(table) t SET status = u.status::jsonb, observed_generation = t.generation
                FROM unnest($1::text[], $2::text[]) AS u(name, status) WHERE t.name = u.name
                """, [textArray(names), textArray(chunk.map(\.status.text))])
        }
    }

    /// Locks `names`' rows of `table` in name order, as a status write does before it writes them:
    /// `NO KEY UPDATE`, the lock the write takes anyway. It orders writers as before and does not
    /// conflict with the `KEY SHARE` a foreign key check takes. With `FOR UPDATE`, every claim (its
    /// new agent's template checked) waited for the whole write, thousands of agent statuses long,
    /// whenever a template's status changed.
    package static func lockRows(_ c: PostgresConnection, _ table: String, _ names: [String]) async throws {
        _ = try await c.query("SELECT 1 FROM \(table) WHERE name = ANY($1::text[]) ORDER BY name FOR NO KEY UPDATE", [textArray(names)])
    }

    /// Names and statuses in name order, in chunks of at most a hundred: one statement each.
    private struct StatusRows {
        let chunks: [ArraySlice<(name: String, status: JSONText)>]
        init(_ writes: [(name: String, status: JSONText)]) {
            let sorted = writes.sorted { $0.name < $1.name }
            chunks = stride(from: 0, to: sorted.count, by: 100).map { sorted[$0..<min($0 + 100, sorted.count)] }
        }
    }

    /// Events older than `age` seconds, or beyond the newest `limit`; returns how many went.
    package static func pruneEvents(_ fence: Fence, age: TimeInterval, limit: Int) async throws -> Int {
        try await fence.transaction { c in
            let old = try await c.query("DELETE FROM pool.events WHERE at < now() - make_interval(secs => $1) RETURNING id", [String(age)])
            let over = try await c.query("""
                DELETE FROM pool.events WHERE id <= (SELECT id FROM pool.events ORDER BY id DESC OFFSET $1 LIMIT 1) RETURNING id
                """, [limit])
            return old.count + over.count
        }
    }

    /// Removes changes older than `retention` that a newer change of the same object supersedes
    /// (or that record a deletion), a bounded batch at a time, and moves the compaction mark past
    /// them: a watch from an older version is answered 410 Gone and lists again.
    package static func compactChanges(_ fence: Fence, retention: Duration) async throws -> Int {
        try await fence.transaction { c in
            let rows = try await c.query("""
                WITH doomed AS (
                    SELECT o.rv FROM pool.changes o
                    WHERE o.at < now() - make_interval(secs => $1)
                      AND (o.type = 'DELETED' OR EXISTS (SELECT 1 FROM pool.changes n WHERE n.kind = o.kind AND n.name = o.name AND n.rv > o.rv))
                    ORDER BY o.rv LIMIT 10000
                ), gone AS (
                    DELETE FROM pool.changes WHERE rv IN (SELECT rv FROM doomed) RETURNING rv
                ), mark AS (
                    UPDATE pool.change_compaction SET rv = greatest(rv, (SELECT max(rv) FROM gone))
                    WHERE EXISTS (SELECT 1 FROM gone) RETURNING rv
                )
                SELECT count(*)::int AS n FROM gone
                """, [String(retention.timeInterval)])
            return try rows.first?.decode("n", as: Int.self) ?? 0
        }
    }
}
