import Foundation
import Postgres
import Resources
import Services
import Store

/// One tick's view: desired state in five queries (one snapshot), observed state in one batch status call.
package struct TickState: Sendable {
    package var input: PlannerInput
    /// Per agent: generation and stored status, to write status only when it changed.
    package var agentMeta: [String: (generation: Int, status: JSONValue)]
    package var poolMeta: [String: (generation: Int, status: JSONValue)]
    package var templateMeta: [String: JSONValue]
    package var orphanNames: [String]
    /// The health, version and harness each instance row last recorded, to write them only when they change.
    package var storedHealth: [String: StatusWriter.Health]
    /// What the status batch saw change, for the tick to record (the batch writes nothing).
    package var observed: [String: DeployStatus] = [:]
}

package struct StateReader: Sendable {
    package let db: PostgresPool
    package let services: any ServicesClient

    /// `failureWindow`: how far back the pools' failed instances are read (the crash-loop rule's window).
    package func read(now: Date, digests: [String: String], failureWindow: TimeInterval = 600) async throws -> TickState {
        let stored = try await StoredState.snapshot(db, digests: digests, failureWindow: failureWindow)
        let (pools, poolMeta, templates, templateMeta, agents, agentMeta, instanceRows) =
            (stored.pools, stored.poolMeta, stored.templates, stored.templateMeta, stored.agents, stored.agentMeta, stored.instanceRows)
        let ids = try instanceRows.rows.map { try $0.decode("instance_id", as: String.self) }
        let batch = try await services.statusBatch(ids)
        var instances: [InstanceView] = []
        var storedHealth: [String: StatusWriter.Health] = [:]
        for row in instanceRows.rows {
            let id: String = try row.decode("instance_id")
            guard let state = InstanceState(rawValue: try row.decode("state")) else { continue }
            let observed = batch.statuses[id]
            if let health: String = try row.decode("health") {
                storedHealth[id] = StatusWriter.Health(instance: id, health: health, version: try row.decode("runtime_version"),
                                                       runtime: try row.decode("runtime_type"))
            }
            instances.append(InstanceView(
                id: id, pool: try row.decode("pool"), state: state, digest: try row.decode("image_digest"),
                url: try row.decode("url", as: String?.self) ?? observed?.url, agent: try row.decode("agent"),
                createdAt: try row.decode("created_at"), setup: observed?.setup ?? .missing, health: observed?.state,
                deployStatus: observed?.deployStatus, tools: Self.tools(observed?.tools ?? [:]), envPending: observed?.envPending ?? false,
                conversationId: try row.decode("conversation_id"), inviteUrl: try row.decode("invite_url"), joined: try row.decode("joined"),
                runtimeConfig: try StoredState.config(row, "runtime_config"), refusedConfig: try StoredState.config(row, "refused_config"),
                templateGeneration: try row.decode("template_generation"), cloneSummaryDone: try row.decode("clone_done"),
                parentInstance: try row.decode("parent_instance")))
            instances[instances.count - 1].deployedAt = observed?.deployedAt
            instances[instances.count - 1].quotaWaitUntil = observed?.quotaWaitUntil
            instances[instances.count - 1].lastError = observed?.lastError
            instances[instances.count - 1].variablesUnchecked = observed?.variablesUnchecked ?? false
            instances[instances.count - 1].acceptance = try row.decode("acceptance", as: String?.self).flatMap(RuntimeAcceptance.init(rawValue:))
            instances[instances.count - 1].acceptanceMessage = try row.decode("acceptance_message")
            instances[instances.count - 1].runtimeVersion = observed?.runtimeVersion ?? storedHealth[id]?.version
            instances[instances.count - 1].runtimeType = observed?.runtimeType ?? storedHealth[id]?.runtime
            instances[instances.count - 1].upgradePhase = try row.decode("upgrade_phase", as: String?.self).flatMap(UpgradePhase.init(rawValue:))
            instances[instances.count - 1].upgradeTo = try row.decode("upgrade_to")
            instances[instances.count - 1].upgradeStartedAt = try row.decode("upgrade_started_at")
            instances[instances.count - 1].upgradeError = try row.decode("upgrade_error")
            instances[instances.count - 1].previousDigest = try row.decode("previous_digest")
            instances[instances.count - 1].upgradedAt = try row.decode("upgraded_at")
            instances[instances.count - 1].upgradeRequested = try row.decode("upgrade_requested_at", as: Date?.self) != nil
        }
        let input = PlannerInput(now: now, pools: pools, templates: templates, agents: agents, instances: instances)
        let orphans = (batch.orphans ?? []).map { String($0.dropFirst("convos-agent-".count)) }
        var state = TickState(input: input, agentMeta: agentMeta, poolMeta: poolMeta, templateMeta: templateMeta, orphanNames: orphans,
                              storedHealth: storedHealth)
        state.observed = batch.observed ?? [:]
        state.input.auditDue = batch.resynced ?? false
        state.input.strays = batch.strays ?? []
        state.input.numberStockDue = batch.numberStock != nil
        return state
    }

    /// The services layer's tool statuses, keyed by tool; unknown tool ids are skipped.
    package static func tools(_ statuses: [String: ToolStatus]) -> [ToolName: ToolView] {
        var tools: [ToolName: ToolView] = [:]
        for (name, status) in statuses {
            guard let tool = ToolName(rawValue: name) else { continue }
            tools[tool] = ToolView(state: status.state, delivered: status.delivered, config: status.config,
                                   errorCode: status.errorCode, error: status.error, resourceId: status.resourceId)
        }
        return tools
    }
}
