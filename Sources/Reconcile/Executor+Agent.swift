import Foundation
import Postgres
import Providers
import Resources
import Services
import Store

/// A claimed agent's steps: configure its runtime (the conversation and its invite), provision its
/// tools, keep its runtime's configuration in step with the template, send a clone's summary.
extension Executor {
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
    }

    package func bound(agent: String, instance: String) async throws -> Bound? {
        guard let row = try await db.query("""
            SELECT a.spec AS agent_spec, t.spec AS template_spec, t.generation, i.url, i.conversation_id IS NOT NULL AS configured,
                   i.runtime_config, i.refused_config, i.clone_summary_result IS NOT NULL AS clone_done
            FROM pool.agents a JOIN pool.instances i ON i.agent = a.name AND i.instance_id = $2 AND i.state = 'claimed'
            LEFT JOIN pool.agent_templates t ON t.name = a.template
            WHERE a.name = $1 AND a.deletion_requested_at IS NULL
            """, [agent, instance]).first else { return nil }
        let spec = try JSONDecoder().decode(AgentSpec.self, from: try row.decode("agent_spec", as: JSONText.self).data)
        let template = try row.decode("template_spec", as: JSONText?.self).map { try JSONDecoder().decode(AgentTemplateSpec.self, from: $0.data) }
        return Bound(config: AgentConfig.resolve(spec, template: template), templateGeneration: try row.decode("generation"),
                     configured: try row.decode("configured"), url: try row.decode("url"),
                     runtimeConfig: try StoredState.config(row, "runtime_config"), refusedConfig: try StoredState.config(row, "refused_config"),
                     cloneSummaryDone: try row.decode("clone_done"))
    }

    /// The runtime's `/pool/provision`, then the conversation on the instance and a wake-up for the
    /// claims waiting on it. Once only: a configured instance is never configured again.
    package func configure(agent: String, instance: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), !bound.configured else { return .converged }
        let config = bound.config
        let result = try await services.configure(instance, ConfigureRequest(agentName: config.agentName, instructions: config.instructions,
                                                                               model: config.model, joinUrl: config.joinUrl))
        let runtimeConfig = try JSONValue.from(RuntimeConfig(config)).jsonText
        try await fence.transaction { c in
            _ = try await c.query("""
                UPDATE pool.instances SET conversation_id = $3, invite_url = $4, joined = $5, agent_name = $6, configured_at = now(),
                    runtime_config = $7::jsonb, refused_config = NULL, template_generation = $8,
                    template_synced_at = CASE WHEN $8::bigint IS NULL THEN NULL ELSE now() END, updated_at = now()
                WHERE instance_id = $1 AND agent = $2
                """, [instance, agent, result.conversationId, result.inviteUrl, result.joined, config.agentName, runtimeConfig, bound.templateGeneration])
            try await Events.record(c, kind: "Agent", name: agent, reason: "Configured",
                                    message: "\(result.joined ? "joined" : "created") conversation \(result.conversationId), invite \(result.inviteUrl ?? "none")")
            _ = try await c.query("SELECT pg_notify('convos_configured', $1)", [agent])
        }
        configured(agent)
        return .converged
    }

    /// One tool: the template's provisioning mode and options, or the limit on the instance's key.
    package func provision(agent: String, instance: String, tool: ToolName) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance) else { return .converged }
        var request = ProvisionRequest(agent: agent)
        if tool == .openrouter {
            request.options = ToolOptions(limitUsd: bound.config.openrouter?.limitUsd, limitReset: bound.config.openrouter?.limitReset?.rawValue)
        } else if let declared = bound.config.tools.first(where: { $0.id == tool }) {
            request.provisioning = declared.provisioning
            request.options = ToolOptions(country: declared.option("country"), displayName: declared.option("displayName") ?? bound.config.agentName)
        } else {
            return .converged
        }
        let result = try await services.provision(instance, tool: tool, request)
        guard result.state == .ready else { return .requeue(after: .milliseconds(250)) }
        _ = try await fence.transaction { c in try await Events.record(c, kind: "Agent", name: agent, reason: "ToolProvisioned", message: tool.rawValue) }
        return .converged
    }

    /// The agent's configuration changed after its runtime was configured: `/pool/update-template`
    /// (and the model through a restart). A runtime without the endpoint is recorded as refusing
    /// this configuration, so it is not asked again until the configuration changes.
    package func pushTemplate(agent: String, instance: String, generation: Int?) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), bound.configured else { return .converged }
        let config = bound.config
        guard RuntimeConfig(config) != bound.runtimeConfig, RuntimeConfig(config) != bound.refusedConfig else { return .converged }
        let result = try await services.updateTemplate(instance, ConfigureRequest(agentName: config.agentName, instructions: config.instructions,
                                                                                    model: config.model))
        let runtimeConfig = try JSONValue.from(RuntimeConfig(config)).jsonText
        try await fence.transaction { c in
            if result.supported {
                _ = try await c.query("""
                    UPDATE pool.instances SET runtime_config = $3::jsonb, refused_config = NULL, template_generation = $4,
                        template_synced_at = now(), updated_at = now() WHERE instance_id = $1 AND agent = $2
                    """, [instance, agent, runtimeConfig, bound.templateGeneration])
                try await Events.record(c, kind: "Agent", name: agent, reason: "TemplateSynced",
                                        message: bound.templateGeneration.map { "generation \($0)" } ?? "configuration updated")
            } else {
                _ = try await c.query("UPDATE pool.instances SET refused_config = $3::jsonb, updated_at = now() WHERE instance_id = $1 AND agent = $2",
                                      [instance, agent, runtimeConfig])
                try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "NotSupportedByRuntime",
                                        message: "the runtime has no /pool/update-template; it keeps the configuration of its claim")
            }
        }
        return .converged
    }

    /// Tells the parent's runtime that a clone of it now runs (`/pool/clone-summary`).
    package func sendCloneSummary(agent: String, instance: String, parent: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), !bound.cloneSummaryDone else { return .converged }
        let result = try await services.cloneSummary(parent, CloneSummaryRequest(childAgent: agent, childInstanceId: instance, childUrl: bound.url))
        try await fence.transaction { c in
            _ = try await c.query("""
                UPDATE pool.instances SET clone_summary_sent_at = now(), clone_summary_result = $2, updated_at = now() WHERE instance_id = $1
                """, [instance, result.supported ? "sent" : "unsupported"])
            if result.supported {
                try await Events.record(c, kind: "Agent", name: agent, reason: "CloneSummarySent", message: "to instance \(parent)")
            } else {
                try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "NotSupportedByRuntime",
                                        message: "the parent's runtime has no /pool/clone-summary")
            }
        }
        return .converged
    }
}
