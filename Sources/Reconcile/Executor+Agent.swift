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
    package func configure(agent: String, instance: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance), !bound.configured else { return .converged }
        let config = bound.config
        let result = try await services.configure(instance, ConfigureRequest(agentName: config.agentName, instructions: config.instructions,
                                                                               model: config.model, joinUrl: config.joinUrl))
        try await writes.recordConfigured(agent: agent, instance: instance, conversationId: result.conversationId, inviteUrl: result.inviteUrl,
                                          joined: result.joined, config: config, templateGeneration: bound.templateGeneration)
        configured.configured(agent: agent)
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
