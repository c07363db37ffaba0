import Foundation
import Postgres
import Providers
import Resources
import Services
import Store

/// A claimed agent's steps: configure its runtime (the conversation and its invite), provision its
/// tools, keep its runtime's configuration in step with the template, send a clone's summary.
extension Executor {
    package func bound(agent: String, instance: String) async throws -> InstanceWrites.Bound? {
        try await writes.bound(agent: agent, instance: instance)
    }

    /// The runtime's `/pool/provision`, then the conversation on the instance and a wake-up for the
    /// claims waiting on it. Once only: a configured instance is never configured again.
    ///
    /// A join that waits for the owner's approval reserves the instance (`PendingAcceptance`). A
    /// failed provision, its runtime reset, returns a clean instance to the pool (unless the agent's
    /// own tools were made on it: those are its, so it is torn down instead) and fails a dirty one;
    /// either way the agent binds again.
    package func configure(agent: String, instance: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), !bound.configured, !bound.pending else { return .converged }
        let config = bound.config
        let result = try await services.configure(instance, ConfigureRequest(agentName: config.agentName, instructions: config.instructions,
                                                                               model: config.model, joinUrl: config.joinUrl))
        if let recovery = result.recovery, !result.ok {
            let error = "the runtime's /pool/provision failed: \(result.error ?? "no answer")"
            let agentTools = try await services.statusBatch([instance]).statuses[instance]?.tools.keys.contains { $0 != ToolName.openrouter.rawValue } ?? true
            if recovery == .clean && !agentTools {
                try await writes.releaseToIdle(agent: agent, instance: instance, error: error)
            } else {
                try await writes.failProvision(agent: agent, instance: instance, error: error)
            }
            return .converged
        }
        if result.status == .pendingAcceptance {
            try await writes.recordPending(agent: agent, instance: instance, inviteUrl: result.inviteUrl, config: config,
                                           templateGeneration: bound.templateGeneration)
            configured.configured(agent: agent)
            return .converged
        }
        guard let conversation = result.conversationId else { throw ServicesError(status: 502, code: .runtimeError, message: "provision answered no conversation") }
        try await writes.recordConfigured(agent: agent, instance: instance, conversationId: conversation, inviteUrl: result.inviteUrl,
                                          joined: result.joined, config: config, templateGeneration: bound.templateGeneration)
        configured.configured(agent: agent)
        return .converged
    }

    /// The runtime's `/convos/status` against the agent: a pending join accepted (Ready) or given
    /// up (`Tainted`); a configured runtime naming another conversation, or none, is `Tainted`.
    /// A seed-era runtime (no such route) is left as it is.
    package func checkConversation(agent: String, instance: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), bound.configured || bound.pending else { return .converged }
        guard let state = try await services.conversationState(instance) else { return .converged }
        if bound.pending {
            if let conversation = state.conversationId {
                try await writes.settleAcceptance(agent: agent, instance: instance, conversationId: conversation, by: "seen at a resync")
            } else if !state.pending {
                try await writes.settleAcceptance(agent: agent, instance: instance, conversationId: nil, by: "seen at a resync")
            }
            return .converged
        }
        guard state.conversationId != bound.conversationId else { return .converged }
        let message = state.conversationId.map { "the runtime is in conversation \($0), not the agent's \(bound.conversationId ?? "none")" }
            ?? "the runtime holds no conversation; the agent's was \(bound.conversationId ?? "none")"
        try await writes.recordTainted(agent: agent, instance: instance, message: message + "; the instance is kept for an operator")
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
        try await writes.event(kind: "Agent", name: agent, reason: "ToolProvisioned", message: tool.rawValue)
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
        try await writes.recordTemplatePush(agent: agent, instance: instance, config: config, templateGeneration: bound.templateGeneration,
                                            supported: result.supported)
        return .converged
    }

    /// Tells the parent's runtime that a clone of it now runs (`/pool/clone-summary`).
    package func sendCloneSummary(agent: String, instance: String, parent: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), !bound.cloneSummaryDone else { return .converged }
        let result = try await services.cloneSummary(parent, CloneSummaryRequest(childAgent: agent, childInstanceId: instance, childUrl: bound.url))
        try await writes.recordCloneSummary(agent: agent, instance: instance, parent: parent, supported: result.supported)
        return .converged
    }
}
