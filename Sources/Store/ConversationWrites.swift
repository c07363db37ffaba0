import Foundation
import Postgres
import Resources

/// Where a claimed runtime's conversation goes beyond configured (today's runtime, issue 23): a join
/// waiting for the owner's approval and its answer, a runtime that disagrees with the agent
/// (`tainted`), and a failed provision's instance returned to the pool or failed. Called by the
/// reconciler's agent steps and by the runtimes' own callbacks (`RuntimeAPI`), always fenced or in
/// one transaction, each with its event.
extension InstanceWrites {
    /// The join waits for the conversation owner: the instance is reserved for the agent, the
    /// claim answers now (its invite is the join URL), and nothing is configured again.
    package func recordPending(agent: String, instance: String, inviteUrl: String?, config: AgentConfig, templateGeneration: Int?) async throws {
        let runtimeConfig = try JSONValue.from(RuntimeConfig(config)).jsonText
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET acceptance = 'pending', acceptance_message = NULL, invite_url = $3, joined = false, agent_name = $4,
                    runtime_config = $5::jsonb, template_generation = $6, updated_at = now()
                WHERE instance_id = $1 AND agent = $2 AND conversation_id IS NULL RETURNING instance_id
                """, [instance, agent, inviteUrl, config.agentName, runtimeConfig, templateGeneration])
            guard !rows.isEmpty else { return }
            try await Events.record(c, kind: "Agent", name: agent, reason: "PendingAcceptance",
                                    message: "the join of \(inviteUrl ?? "its conversation") waits for the conversation owner's approval")
            _ = try await c.query("SELECT pg_notify('convos_configured', $1)", [agent])
        }
    }

    /// The pending join settled: accepted with `conversationId` (the agent turns Ready), or refused
    /// (`Tainted`). `by` says who told: the runtime's callback or a resync. False when the instance
    /// was not waiting (a repeated callback): nothing changed.
    @discardableResult
    package static func settleAcceptance(_ c: PostgresConnection, agent: String, instance: String, conversationId: String?, by: String) async throws -> Bool {
        if let conversationId {
            let rows = try await c.query("""
                UPDATE pool.instances SET acceptance = NULL, conversation_id = $3, joined = true, configured_at = now(),
                    template_synced_at = CASE WHEN template_generation IS NULL THEN NULL ELSE now() END, updated_at = now()
                WHERE instance_id = $1 AND agent = $2 AND acceptance = 'pending' RETURNING instance_id
                """, [instance, agent, conversationId])
            guard !rows.isEmpty else { return false }
            try await Events.record(c, kind: "Agent", name: agent, reason: "Configured", message: "joined conversation \(conversationId): accepted (\(by))")
            _ = try await c.query("SELECT pg_notify('convos_configured', $1)", [agent])
            return true
        }
        let message = "the join was refused by the conversation (\(by)); the instance is kept for an operator"
        let rows = try await c.query("""
            UPDATE pool.instances SET acceptance = 'tainted', acceptance_message = $3, updated_at = now()
            WHERE instance_id = $1 AND agent = $2 AND acceptance = 'pending' RETURNING instance_id
            """, [instance, agent, message])
        guard !rows.isEmpty else { return false }
        try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "Tainted", message: message)
        return true
    }

    package func settleAcceptance(agent: String, instance: String, conversationId: String?, by: String) async throws {
        try await fence.transaction { c in
            _ = try await Self.settleAcceptance(c, agent: agent, instance: instance, conversationId: conversationId, by: by)
        }
    }

    /// The runtime disagrees with the agent: it is never configured again nor reused.
    package func recordTainted(agent: String, instance: String, message: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET acceptance = 'tainted', acceptance_message = $3, updated_at = now()
                WHERE instance_id = $1 AND agent = $2 AND acceptance IS DISTINCT FROM 'tainted' RETURNING instance_id
                """, [instance, agent, message])
            if !rows.isEmpty { try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "Tainted", message: message) }
        }
    }

    /// A failed provision's runtime was reset clean: the instance goes back to the pool, idle, and
    /// the agent binds again (this instance or another).
    package func releaseToIdle(agent: String, instance: String, error: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET state = 'idle', agent = NULL, owner_id = NULL, template_id = NULL, claimed_at = NULL,
                    parent_instance = NULL, conversation_id = NULL, invite_url = NULL, joined = NULL, agent_name = NULL, acceptance = NULL,
                    acceptance_message = NULL, runtime_config = NULL, refused_config = NULL, template_generation = NULL, updated_at = now()
                WHERE instance_id = $1 AND agent = $2 AND state = 'claimed' AND conversation_id IS NULL RETURNING instance_id
                """, [instance, agent])
            guard !rows.isEmpty else { return }
            try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "ProvisionFailed",
                                    message: "\(error); the runtime was reset clean and instance \(instance) went back to the pool; binding again")
        }
    }

    /// A failed provision left the runtime holding a conversation (or tools of the agent's): the
    /// instance fails and is torn down; the agent binds a fresh one.
    package func failProvision(agent: String, instance: String, error: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET state = 'failed', agent = NULL, last_error = 'ProvisionFailed', updated_at = now()
                WHERE instance_id = $1 AND agent = $2 AND state = 'claimed' RETURNING instance_id
                """, [instance, agent])
            guard !rows.isEmpty else { return }
            try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "ProvisionFailed",
                                    message: "\(error); instance \(instance) is not clean and will be torn down; binding a fresh instance")
        }
    }
}
