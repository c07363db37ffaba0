import Foundation
import Postgres
import Resources

/// A claimed agent's instance as the reconciler's agent steps read and record it: what the runtime
/// was configured with, its conversation, a clone's summary. Called by `Executor+Agent` only.
extension InstanceWrites {
    /// What an action needs of an agent that still holds its instance; nil once it does not.
    package struct Bound: Sendable {
        package let config: AgentConfig
        package let templateGeneration: Int?
        package let configured: Bool
        package let url: String?
        /// What the runtime holds, and a configuration it refused: a push planned from a stale tick
        /// finds it done and stops.
        package let runtimeConfig: RuntimeConfig?
        package let refusedConfig: RuntimeConfig?
        package let cloneSummaryDone: Bool
        /// The join waits for acceptance; the runtime is tainted.
        package let pending: Bool
        package let tainted: Bool
        package let conversationId: String?
    }

    /// A read: no fence.
    package func bound(agent: String, instance: String) async throws -> Bound? {
        guard let row = try await db.query("""
            SELECT a.spec AS agent_spec, t.spec AS template_spec, t.generation, i.url, i.conversation_id IS NOT NULL AS configured,
                   i.runtime_config, i.refused_config, i.clone_summary_result IS NOT NULL AS clone_done, i.acceptance, i.conversation_id
            FROM pool.agents a JOIN pool.instances i ON i.agent = a.name AND i.instance_id = $2 AND i.state = 'claimed'
            LEFT JOIN pool.agent_templates t ON t.name = a.template
            WHERE a.name = $1 AND a.deletion_requested_at IS NULL
            """, [agent, instance]).first else { return nil }
        let spec = try JSONDecoder().decode(AgentSpec.self, from: try row.decode("agent_spec", as: JSONText.self).data)
        let template = try row.decode("template_spec", as: JSONText?.self).map { try JSONDecoder().decode(AgentTemplateSpec.self, from: $0.data) }
        return Bound(config: AgentConfig.resolve(spec, template: template), templateGeneration: try row.decode("generation"),
                     configured: try row.decode("configured"), url: try row.decode("url"),
                     runtimeConfig: try StoredState.config(row, "runtime_config"), refusedConfig: try StoredState.config(row, "refused_config"),
                     cloneSummaryDone: try row.decode("clone_done"), pending: try row.decode("acceptance", as: String?.self) == "pending",
                     tainted: try row.decode("acceptance", as: String?.self) == "tainted", conversationId: try row.decode("conversation_id"))
    }

    /// The conversation `/pool/provision` answered, on the instance. The caller tells the claims
    /// waiting for it, after the commit (`ConversationListener`).
    package func recordConfigured(agent: String, instance: String, conversationId: String, inviteUrl: String?, joined: Bool,
                                  config: AgentConfig, templateGeneration: Int?) async throws {
        let runtimeConfig = try JSONValue.from(RuntimeConfig(config)).jsonText
        try await fence.transaction { c in
            _ = try await c.query("""
                UPDATE pool.instances SET conversation_id = $3, invite_url = $4, joined = $5, agent_name = $6, configured_at = now(),
                    runtime_config = $7::jsonb, refused_config = NULL, template_generation = $8,
                    template_synced_at = CASE WHEN $8::bigint IS NULL THEN NULL ELSE now() END, updated_at = now()
                WHERE instance_id = $1 AND agent = $2
                """, [instance, agent, conversationId, inviteUrl, joined, config.agentName, runtimeConfig, templateGeneration])
            try await Events.record(c, kind: "Agent", name: agent, reason: "Configured",
                                    message: "\(joined ? "joined" : "created") conversation \(conversationId), invite \(inviteUrl ?? "none")")
        }
    }

    /// The template pushed to the runtime (`supported`), or refused by a runtime without the
    /// endpoint: then it is not asked again until the configuration changes.
    package func recordTemplatePush(agent: String, instance: String, config: AgentConfig, templateGeneration: Int?, supported: Bool) async throws {
        let runtimeConfig = try JSONValue.from(RuntimeConfig(config)).jsonText
        try await fence.transaction { c in
            if supported {
                _ = try await c.query("""
                    UPDATE pool.instances SET runtime_config = $3::jsonb, refused_config = NULL, template_generation = $4,
                        template_synced_at = now(), updated_at = now() WHERE instance_id = $1 AND agent = $2
                    """, [instance, agent, runtimeConfig, templateGeneration])
                try await Events.record(c, kind: "Agent", name: agent, reason: "TemplateSynced",
                                        message: templateGeneration.map { "generation \($0)" } ?? "configuration updated")
            } else {
                _ = try await c.query("UPDATE pool.instances SET refused_config = $3::jsonb, updated_at = now() WHERE instance_id = $1 AND agent = $2",
                                      [instance, agent, runtimeConfig])
                try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "NotSupportedByRuntime",
                                        message: "the runtime has no /pool/update-template; it keeps the configuration of its claim")
            }
        }
    }

    package func recordCloneSummary(agent: String, instance: String, parent: String, supported: Bool) async throws {
        try await fence.transaction { c in
            _ = try await c.query("""
                UPDATE pool.instances SET clone_summary_sent_at = now(), clone_summary_result = $2, updated_at = now() WHERE instance_id = $1
                """, [instance, supported ? "sent" : "unsupported"])
            if supported {
                try await Events.record(c, kind: "Agent", name: agent, reason: "CloneSummarySent", message: "to instance \(parent)")
            } else {
                try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "NotSupportedByRuntime",
                                        message: "the parent's runtime has no /pool/clone-summary")
            }
        }
    }
}
