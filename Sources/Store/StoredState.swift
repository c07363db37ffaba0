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
        /// Each agent's generation and stored status, remembered as read (nil: not readable as one).
        package var agentMeta: [String: (generation: Int, status: StatusMemo?)] = [:]
        /// Each instance as its rows say (the batch's fields empty), with the health its row recorded.
        package var instances: [(view: InstanceView, health: StatusWriter.Health?)] = []
    }

    /// Rows a whole read takes in one statement: the text of 50,000 instance rows held at once was
    /// 114 MB of the controller's peak; a page is decoded and let go before the next is read.
    package static let pageRows = 5_000

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
        var stored = Rows()
        // Nothing of a kind changed (a quiet tick): no round trip for it.
        if only?.templates.isEmpty != true {
            try await pages(query, "SELECT name, spec, generation, status FROM pool.agent_templates", key: "name", only: only?.templates) { row in
                let name: String = try row.decode("name")
                stored.templates[name] = TemplateView(name: name, spec: try Self.spec(row, AgentTemplateSpec.self), generation: try row.decode("generation"))
                stored.templateMeta[name] = try Self.json(row, "status")
            }
        }
        if only?.agents.isEmpty != true {
            try await pages(query, "SELECT name, spec, generation, status, deletion_requested_at, created_at FROM pool.agents", key: "name",
                            only: only?.agents) { row in
                let name: String = try row.decode("name")
                stored.agents.append(AgentView(name: name, spec: try Self.spec(row, AgentSpec.self),
                                               deleting: try row.decode("deletion_requested_at", as: Date?.self) != nil, createdAt: try row.decode("created_at")))
                // Typed straight from its text (no tree for each of 40,000 statuses), kept as a memo.
                let status = try? JSONValue.decode(AgentStatus.self, from: try row.decode("status", as: JSONText.self).data)
                stored.agentMeta[name] = (try row.decode("generation"), status.map(StatusMemo.init))
            }
        }
        if only?.instances.isEmpty != true {
            try await pages(query, """
                SELECT i.instance_id, pool, state, image_digest, url, agent, created_at, template_generation, h.health,
                       clone_summary_result IS NOT NULL AS clone_done, parent_instance, conversation_id, invite_url, joined,
                       runtime_config, refused_config, acceptance, acceptance_message, h.runtime_version, h.runtime_type,
                       upgrade_phase, upgrade_to, upgrade_started_at, upgrade_error, previous_digest, upgraded_at, upgrade_requested_at
                FROM pool.instances i LEFT JOIN pool.instance_health h USING (instance_id)
                """, key: "i.instance_id", only: only?.instances) { row in
                if let decoded = try instance(row) { stored.instances.append(decoded) }
            }
        }
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
        return stored
    }

    /// Runs `select` for the rows named in `only` (one statement), or for all of them in pages of
    /// `pageRows` by `key` (the table's primary key), calling `row` for each. In a transaction the
    /// pages share its snapshot.
    private static func pages(_ query: (String, [any PostgresEncodable]) async throws -> PostgresRows, _ select: String, key: String,
                              only: Set<String>?, row: (PostgresRows.Row) throws -> Void) async throws {
        if let only {
            for r in try await query(select + " WHERE \(key) = ANY($1::text[])", [textArray(only.sorted())]).rows { try row(r) }
            return
        }
        var after = ""
        while true {
            let page = try await query(select + " WHERE \(key) > $1 ORDER BY \(key) LIMIT \(pageRows)", [after])
            for r in page.rows { try row(r) }
            guard page.count == pageRows, let last = page.rows.last else { return }
            after = try last.decode(String(key.split(separator: ".").last!))
        }
    }

    /// An instance as its rows say (the batch's fields empty), and the health its row recorded;
    /// nil for a state this build does not know.
    package static func instance(_ row: PostgresRows.Row) throws -> (view: InstanceView, health: StatusWriter.Health?)? {
        let id: String = try row.decode("instance_id")
        guard let state = InstanceState(rawValue: try row.decode("state")) else { return nil }
        var health: StatusWriter.Health?
        if let h: String = try row.decode("health") {
            health = StatusWriter.Health(instance: id, health: h, version: try row.decode("runtime_version"), runtime: try row.decode("runtime_type"))
        }
        var i = InstanceView(
            id: id, pool: try row.decode("pool"), state: state, digest: try row.decode("image_digest"),
            url: try row.decode("url", as: String?.self), agent: try row.decode("agent"),
            createdAt: try row.decode("created_at"), setup: .missing, health: nil, deployStatus: nil, tools: [:], envPending: false,
            conversationId: try row.decode("conversation_id"), inviteUrl: try row.decode("invite_url"), joined: try row.decode("joined"),
            runtimeConfig: try config(row, "runtime_config"), refusedConfig: try config(row, "refused_config"),
            templateGeneration: try row.decode("template_generation"), cloneSummaryDone: try row.decode("clone_done"),
            parentInstance: try row.decode("parent_instance"))
        i.acceptance = try row.decode("acceptance", as: String?.self).flatMap(RuntimeAcceptance.init(rawValue:))
        i.acceptanceMessage = try row.decode("acceptance_message")
        i.upgradePhase = try row.decode("upgrade_phase", as: String?.self).flatMap(UpgradePhase.init(rawValue:))
        i.upgradeTo = try row.decode("upgrade_to")
        i.upgradeStartedAt = try row.decode("upgrade_started_at")
        i.upgradeError = try row.decode("upgrade_error")
        i.previousDigest = try row.decode("previous_digest")
        i.upgradedAt = try row.decode("upgraded_at")
        i.upgradeRequested = try row.decode("upgrade_requested_at", as: Date?.self) != nil
        return (i, health)
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
