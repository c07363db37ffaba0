import Foundation
import Postgres
import Resources

/// One tick's view: desired state in five queries (one snapshot), observed state in one batch status call.
struct TickState: Sendable {
    var input: PlannerInput
    /// Per agent: generation and stored status, to write status only when it changed.
    var agentMeta: [String: (generation: Int, status: JSONValue)]
    var poolMeta: [String: (generation: Int, status: JSONValue)]
    var templateMeta: [String: JSONValue]
    var orphanNames: [String]
    /// The health each instance row last recorded, to write it only when it changes.
    var storedHealth: [String: String]
}

struct StateReader: Sendable {
    let db: PostgresPool
    let services: any ServicesClient

    /// `failureWindow`: how far back the pools' failed instances are read (the crash-loop rule's window).
    func read(now: Date, digests: [String: String], failureWindow: TimeInterval = 600) async throws -> TickState {
        // One snapshot for the five reads: read apart, an instance that failed between the read of
        // the pools' failures and the read of the instances counted neither as failed nor as
        // starting, and the crash-loop rule let one more create through (seen under load).
        let stored = try await db.transaction { c in
            _ = try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return try await Self.stored({ try await c.query($0, $1) }, digests: digests, failureWindow: failureWindow)
        }
        let (pools, poolMeta, templates, templateMeta, agents, agentMeta, instanceRows) =
            (stored.pools, stored.poolMeta, stored.templates, stored.templateMeta, stored.agents, stored.agentMeta, stored.instanceRows)
        let ids = try instanceRows.rows.map { try $0.decode("instance_id", as: String.self) }
        let batch = try await services.statusBatch(ids)
        var instances: [InstanceView] = []
        var storedHealth: [String: String] = [:]
        for row in instanceRows.rows {
            let id: String = try row.decode("instance_id")
            guard let state = InstanceState(rawValue: try row.decode("state")) else { continue }
            let observed = batch.statuses[id]
            storedHealth[id] = try row.decode("health")
            instances.append(InstanceView(
                id: id, pool: try row.decode("pool"), state: state, digest: try row.decode("image_digest"),
                url: try row.decode("url", as: String?.self) ?? observed?.url, agent: try row.decode("agent"),
                createdAt: try row.decode("created_at"), setup: observed?.setup ?? .missing, health: observed?.state,
                deployStatus: observed?.deployStatus, tools: Self.tools(observed?.tools ?? [:]), envPending: observed?.envPending ?? false,
                conversationId: try row.decode("conversation_id"), inviteUrl: try row.decode("invite_url"), joined: try row.decode("joined"),
                runtimeConfig: try Self.config(row, "runtime_config"), refusedConfig: try Self.config(row, "refused_config"),
                templateGeneration: try row.decode("template_generation"), cloneSummaryDone: try row.decode("clone_done"),
                parentInstance: try row.decode("parent_instance")))
            instances[instances.count - 1].deployedAt = observed?.deployedAt
            instances[instances.count - 1].quotaWaitUntil = observed?.quotaWaitUntil
            instances[instances.count - 1].lastError = observed?.lastError
        }
        let input = PlannerInput(now: now, pools: pools, templates: templates, agents: agents, instances: instances)
        let orphans = (batch.orphans ?? []).map { String($0.dropFirst("convos-agent-".count)) }
        return TickState(input: input, agentMeta: agentMeta, poolMeta: poolMeta, templateMeta: templateMeta, orphanNames: orphans,
                         storedHealth: storedHealth)
    }

    /// Desired state and the instance rows, as stored: what a tick reads before it asks the
    /// services, and what a dry run reads inside its transaction.
    struct Stored {
        var pools: [PoolView] = []
        var poolMeta: [String: (generation: Int, status: JSONValue)] = [:]
        var templates: [String: TemplateView] = [:]
        var templateMeta: [String: JSONValue] = [:]
        var agents: [AgentView] = []
        var agentMeta: [String: (generation: Int, status: JSONValue)] = [:]
        var instanceRows: PostgresRows
    }

    /// `query` runs one statement: on the pool for a tick, on the transaction's connection for a dry run.
    static func stored(_ query: (String, [any PostgresEncodable]) async throws -> PostgresRows, digests: [String: String],
                       failureWindow: TimeInterval) async throws -> Stored {
        let poolRows = try await query("SELECT name, spec, generation, status FROM pool.pools ORDER BY name", [])
        let failureRows = try await query("""
            SELECT pool, digest, generation, reason, at FROM pool.pool_failures WHERE at > now() - make_interval(secs => $1)
            """, [String(failureWindow)])
        var failures: [String: [PoolFailure]] = [:]
        for row in failureRows.rows {
            failures[try row.decode("pool"), default: []].append(PoolFailure(
                digest: try row.decode("digest"), generation: try row.decode("generation"), reason: try row.decode("reason"), at: try row.decode("at")))
        }
        let templateRows = try await query("SELECT name, spec, generation, status FROM pool.agent_templates", [])
        let agentRows = try await query("SELECT name, spec, generation, status, deletion_requested_at, created_at FROM pool.agents", [])
        var stored = Stored(instanceRows: try await query("""
            SELECT i.instance_id, pool, state, image_digest, url, agent, created_at, template_generation, h.health,
                   clone_summary_result IS NOT NULL AS clone_done, parent_instance, conversation_id, invite_url, joined,
                   runtime_config, refused_config
            FROM pool.instances i LEFT JOIN pool.instance_health h USING (instance_id)
            """, []))
        for row in poolRows.rows {
            let name: String = try row.decode("name")
            stored.pools.append(PoolView(name: name, spec: try Self.spec(row, PoolSpec.self), digest: digests[name],
                                         generation: try row.decode("generation"), failures: failures[name] ?? []))
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
            stored.agentMeta[name] = (try row.decode("generation"), try Self.json(row, "status"))
        }
        return stored
    }

    static func spec<S: Decodable>(_ row: PostgresRows.Row, _ type: S.Type) throws -> S {
        try JSONDecoder().decode(type, from: try row.decode("spec", as: JSONText.self).data)
    }

    /// The services layer's tool statuses, keyed by tool; unknown tool ids are skipped.
    static func tools(_ statuses: [String: ToolStatus]) -> [ToolName: ToolView] {
        var tools: [ToolName: ToolView] = [:]
        for (name, status) in statuses {
            guard let tool = ToolName(rawValue: name) else { continue }
            tools[tool] = ToolView(state: status.state, delivered: status.delivered, config: status.config,
                                   errorCode: status.errorCode, error: status.error, resourceId: status.resourceId)
        }
        return tools
    }

    static func config(_ row: PostgresRows.Row, _ column: String) throws -> RuntimeConfig? {
        try row.decode(column, as: JSONText?.self).map { try JSONDecoder().decode(RuntimeConfig.self, from: $0.data) }
    }

    static func json(_ row: PostgresRows.Row, _ column: String) throws -> JSONValue {
        try JSONValue.decodeText(try row.decode(column, as: JSONText.self))
    }
}
