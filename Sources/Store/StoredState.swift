import Foundation
import Postgres
import Resources

/// Desired state and the instance rows as stored, read in a few statements: by each tick before it
/// asks the services (one snapshot), and by a dry run inside its transaction (`StoredView`).
package enum StoredState {
    /// The five reads in one snapshot: read apart, an instance that failed between the read of the
    /// pools' failures and the read of the instances counted neither as failed nor as starting, and
    /// the crash-loop rule let one more create through (seen under load).
    package static func snapshot(_ db: PostgresPool, digests: [String: String], failureWindow: TimeInterval) async throws -> Rows {
        try await db.transaction { c in
            _ = try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return try await stored({ try await c.query($0, $1) }, digests: digests, failureWindow: failureWindow)
        }
    }

    /// The rows written since `mark` (nil: all of them), in one snapshot, with the mark to read from
    /// next time: the oldest transaction this snapshot saw running. A transaction older than that
    /// had finished, so everything it wrote is read now or was read before. Pools are read whole
    /// every time (a handful of rows, and their failures age out by time).
    package static func changes(_ db: PostgresPool, since mark: String?, digests: [String: String],
                                failureWindow: TimeInterval) async throws -> (rows: Rows, changed: Changed?, mark: String) {
        try await db.transaction { c in
            _ = try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let next: String = try await c.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS mark").first!.decode("mark")
            guard let mark else {
                return (try await stored({ try await c.query($0, $1) }, digests: digests, failureWindow: failureWindow), nil, next)
            }
            var changed = Changed()
            for row in try await c.query("SELECT kind, key FROM pool.dirty WHERE xid >= $1::xid8 GROUP BY kind, key", [mark]).rows {
                let key: String = try row.decode("key")
                switch try row.decode("kind", as: String.self) {
                case "instance": changed.instances.insert(key)
                case "agent": changed.agents.insert(key)
                default: changed.templates.insert(key)
                }
            }
            let rows = try await stored({ try await c.query($0, $1) }, digests: digests, failureWindow: failureWindow, only: changed)
            return (rows, changed, next)
        }
    }

    /// Keys of the rows written since a mark, by kind.
    package struct Changed: Sendable, Equatable {
        package var instances = Set<String>()
        package var agents = Set<String>()
        package var templates = Set<String>()
        package init() {}
    }

    /// Drops what every read has passed: called by the leader now and then with its last mark.
    package static func pruneChanges(_ db: PostgresPool, before mark: String) async throws -> Int {
        try await db.query("DELETE FROM pool.dirty WHERE xid < $1::xid8", [mark]).affectedRows
    }

    /// Desired state and the instance rows, as stored: what a tick reads before it asks the
    /// services, and what a dry run reads inside its transaction.
    package struct Rows {
        package var pools: [PoolView] = []
        package var poolMeta: [String: (generation: Int, status: JSONValue)] = [:]
        package var templates: [String: TemplateView] = [:]
        package var templateMeta: [String: JSONValue] = [:]
        package var agents: [AgentView] = []
        /// Each agent's status as stored text: typed by the reader (no tree for 40,000 of them).
        package var agentMeta: [String: (generation: Int, status: JSONText)] = [:]
        package var instanceRows: PostgresRows
    }

    /// `query` runs one statement: on the pool for a tick, on the transaction's connection for a dry run.
    /// `only`: just the templates, agents and instances named there (the pools always).
    package static func stored(_ query: (String, [any PostgresEncodable]) async throws -> PostgresRows, digests: [String: String],
                       failureWindow: TimeInterval, only: Changed? = nil) async throws -> Rows {
        let poolRows = try await query("""
            SELECT p.name, p.spec, p.generation, p.status, r.target_digest, r.previous_digest, r.started_at, r.paused, r.halted_agent,
                   r.halted_error, r.undo
            FROM pool.pools p LEFT JOIN pool.rollouts r ON r.pool = p.name ORDER BY p.name
            """, [])
        let failureRows = try await query("""
            SELECT pool, digest, generation, reason, at FROM pool.pool_failures WHERE at > now() - make_interval(secs => $1)
            """, [String(failureWindow)])
        var failures: [String: [PoolFailure]] = [:]
        for row in failureRows.rows {
            failures[try row.decode("pool"), default: []].append(PoolFailure(
                digest: try row.decode("digest"), generation: try row.decode("generation"), reason: try row.decode("reason"), at: try row.decode("at")))
        }
        let filter = { (column: String, keys: Set<String>?) -> (String, [any PostgresEncodable]) in
            guard let keys else { return ("", []) }
            return (" WHERE \(column) = ANY($1::text[])", [textArray(keys.sorted())])
        }
        let (tw, tp) = filter("name", only?.templates), (aw, ap) = filter("name", only?.agents), (iw, ip) = filter("i.instance_id", only?.instances)
        // Nothing of a kind changed (a quiet tick): no round trip for it.
        let none = PostgresRows(columns: [], values: [], affectedRows: 0)
        let templateRows = only?.templates.isEmpty == true ? none : try await query("SELECT name, spec, generation, status FROM pool.agent_templates" + tw, tp)
        let agentRows = only?.agents.isEmpty == true ? none
            : try await query("SELECT name, spec, generation, status, deletion_requested_at, created_at FROM pool.agents" + aw, ap)
        var stored = Rows(instanceRows: only?.instances.isEmpty == true ? none : try await query("""
            SELECT i.instance_id, pool, state, image_digest, url, agent, created_at, template_generation, h.health,
                   clone_summary_result IS NOT NULL AS clone_done, parent_instance, conversation_id, invite_url, joined,
                   runtime_config, refused_config, acceptance, acceptance_message, h.runtime_version, h.runtime_type,
                   upgrade_phase, upgrade_to, upgrade_started_at, upgrade_error, previous_digest, upgraded_at, upgrade_requested_at
            FROM pool.instances i LEFT JOIN pool.instance_health h USING (instance_id)
            """ + iw, ip))
        for row in poolRows.rows {
            let name: String = try row.decode("name")
            stored.pools.append(PoolView(name: name, spec: try Self.spec(row, PoolSpec.self), digest: digests[name],
                                         generation: try row.decode("generation"), failures: failures[name] ?? []))
            if let target: String = try row.decode("target_digest") {
                stored.pools[stored.pools.count - 1].rollout = RolloutView(
                    targetDigest: target, previousDigest: try row.decode("previous_digest"), startedAt: try row.decode("started_at"),
                    paused: try row.decode("paused"), haltedAgent: try row.decode("halted_agent"), haltedError: try row.decode("halted_error"),
                    undo: try row.decode("undo"))
            }
            stored.poolMeta[name] = (try row.decode("generation"), try Self.json(row, "status"))
        }
        for row in templateRows.rows {
            let name: String = try row.decode("name")
            stored.templates[name] = TemplateView(name: name, spec: try Self.spec(row, AgentTemplateSpec.self), generation: try row.decode("generation"))
            stored.templateMeta[name] = try Self.json(row, "status")
        }
        for row in agentRows.rows {
            let name: String = try row.decode("name")
            stored.agents.append(AgentView(name: name, spec: try Self.spec(row, AgentSpec.self),
                                           deleting: try row.decode("deletion_requested_at", as: Date?.self) != nil, createdAt: try row.decode("created_at")))
            stored.agentMeta[name] = (try row.decode("generation"), try row.decode("status", as: JSONText.self))
        }
        return stored
    }

    package static func spec<S: Decodable>(_ row: PostgresRows.Row, _ type: S.Type) throws -> S {
        try JSONDecoder().decode(type, from: try row.decode("spec", as: JSONText.self).data)
    }

    package static func config(_ row: PostgresRows.Row, _ column: String) throws -> RuntimeConfig? {
        try row.decode(column, as: JSONText?.self).map { try JSONDecoder().decode(RuntimeConfig.self, from: $0.data) }
    }

    package static func json(_ row: PostgresRows.Row, _ column: String) throws -> JSONValue {
        try JSONValue.decodeText(try row.decode(column, as: JSONText.self))
    }
}
