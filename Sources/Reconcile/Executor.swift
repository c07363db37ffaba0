import Foundation
import Postgres
import Providers
import Resources
import Services
import Store
import Telemetry

/// Carries out one planned action. Every write to `pool` goes through the leader's fence; every
/// external effect goes through the services layer, and all are idempotent but configure (which the
/// work queue's key keeps to one at a time), so an action cut short by a crash is simply planned
/// and done again. The agent's own steps are in `Executor+Agent.swift`.
package struct Executor: Sendable {
    /// Every write to `pool`, under this term's fence.
    package let writes: InstanceWrites
    package var fence: Fence { writes.fence }
    package let services: any ServicesClient
    /// Told how many instances a pool create made, or that one failed: the slow start.
    package let budget: CreateBudget
    /// Told once an agent's conversation is recorded: claims waiting for its invite answer.
    package let configured: any ConversationListener
    /// The crash-loop rule, held again by the create's own transaction.
    package let crashLoop: (limit: Int, window: TimeInterval)

    package func run(_ action: Action) async -> ReconcileOutcome {
        do {
            // The services' writes are fenced by this action's lease too (`ServicesDB`).
            return try await Fencing.$current.withValue(fence.term) { try await perform(action) }
        } catch let error as ServicesError where error.code == .providerQuota {
            // Deferred to when the quota allows it (any length), never dropped or counted as a failure.
            return .deferred(after: max(error.retryAfter ?? .seconds(1), .milliseconds(50)), reason: error.message)
        } catch let error as ServicesError where error.code.isPermanent {
            return .failed("\(error.code.rawValue): \(error.message)")
        } catch let error as Fence.Lost {
            return .failed(error.description)
        } catch {
            return .retry(Redacted.message(error))
        }
    }

    private func perform(_ action: Action) async throws -> ReconcileOutcome {
        switch action {
        case .createInstances(let pool, let count, let digest):
            // Only the intent rows here: each instance's external create runs under its own key
            // (`startInstance`), so no two actions ever create the same project at once.
            let created = try await writes.createIntents(pool: pool, count: count, digest: digest,
                                                         failureLimit: crashLoop.limit, failureWindow: crashLoop.window)
            await budget.record(pool: pool, created: created.count, ok: true)
            return .converged
        case .startInstance(let id, let image):
            do {
                _ = try await services.createInstance(id, image: image, env: try await writes.poolEnv(of: id))
            } catch let error as ServicesError where error.code == .providerQuota {
                throw error
            } catch {
                // Slow start: a failed create sends the pool back to one create per tick.
                if let pool = try? await writes.pool(of: id) { await budget.record(pool: pool, created: 0, ok: false) }
                throw error
            }
            return .requeue(after: .milliseconds(200))
        case .markIdle(let id, let url):
            try await writes.markIdle(id, url: url)
            return .converged
        case .markFailed(let id, let reason):
            try await writes.markFailed(id, reason: reason)
            return .converged
        case .bindAgent(let agent, let pool):
            return try await writes.bind(agent: agent, pool: pool) ? .converged : .requeue(after: .milliseconds(500))
        case .instanceLost(let agent, let id, let rebind):
            try await writes.instanceLost(agent: agent, instance: id, rebind: rebind)
            return .converged
        case .configure(let agent, let id):
            return try await configure(agent: agent, instance: id)
        case .provisionTool(let agent, let id, let tool):
            return try await provision(agent: agent, instance: id, tool: tool)
        case .deprovisionTool(let agent, let id, let tool, let resource):
            // "-": not known by id (never finished); services finds it by its name.
            // A plan from a stale tick finds it gone already: no second event.
            guard try await services.destroyTool(id, tool: tool, resourceID: resource ?? "-") else { return .converged }
            try await writes.event(kind: "Agent", name: agent, reason: "ToolReleased", message: "\(tool.rawValue): no longer in the template")
            return .converged
        case .pushTemplate(let agent, let id, let generation):
            return try await pushTemplate(agent: agent, instance: id, generation: generation)
        case .checkConversation(let agent, let id):
            return try await checkConversation(agent: agent, instance: id)
        case .sendCloneSummary(let agent, let id, let parent):
            return try await sendCloneSummary(agent: agent, instance: id, parent: parent)
        case .teardown(let id, let reason):
            try await writes.beginTeardown(id)
            try await services.destroy(id)
            try await writes.finishTeardown(id, reason: reason)
            return .converged
        case .removeAgent(let agent):
            // The claim's credentials go first: nothing of the agent stays behind.
            try await services.forgetUserConfig(agent: agent)
            try await writes.removeAgent(agent)
            return .converged
        case .handOver(let id):
            // Started in the background (the services own it); its end is seen by a later status
            // batch. Not `converged`, which wakes the loop: a hand-over held for a tool still
            // being made would be planned again at once, and again, in a loop.
            try await services.handOver(id)
            return .requeue(after: .seconds(1))
        case .pruneVariables(let id):
            let removed = try await services.pruneVariables(id, allowed: Array(try await writes.poolEnv(of: id).keys))
            if !removed.isEmpty {
                try await writes.event(kind: "Instance", name: id, type: "Warning", reason: "VariablesRemoved",
                                       message: "removed \(removed.joined(separator: ", ")), which the contract does not list; one redeploy")
            }
            return .converged
        case .auditTools:
            try await services.auditTools()
            return .converged
        case .removeStrays(let id):
            try await services.removeStrays(id)
            return .converged
        case .startRollout(let pool, let digest, let previous, let paused):
            try await writes.startRollout(pool: pool, digest: digest, previous: previous, paused: paused)
            return .converged
        case .upgradeInstance(let id, let agent, let digest, let image):
            return try await upgrade(instance: id, agent: agent, digest: digest, image: image)
        case .confirmUpgrade(let id, let agent):
            return try await confirmUpgrade(instance: id, agent: agent)
        case .rollBack(let id, let agent, let image, let error):
            return try await rollBack(instance: id, agent: agent, image: image, error: error)
        case .finishRollback(let id, let agent):
            try await writes.finishRollback(instance: id, agent: agent)
            return .converged
        case .stockNumbers:
            // Orders pending: looked at again in a second (a Telnyx order completes in seconds).
            return try await services.stockNumbers() ? .requeue(after: .seconds(1)) : .converged
        case .deleteOrphan(let id):
            try await services.destroy(id)
            try await writes.event(kind: "Instance", name: id, type: "Warning", reason: "OrphanDeleted", message: "convos-agent-\(id) had no row; deleted")
            return .converged
        }
    }

    package init(db: PostgresPool, fence: Fence, services: any ServicesClient, budget: CreateBudget, configured: any ConversationListener,
                 crashLoop: (limit: Int, window: TimeInterval) = (0, 600)) {
        self.crashLoop = crashLoop
        self.writes = InstanceWrites(db: db, fence: fence)
        self.services = services
        self.budget = budget
        self.configured = configured
    }
}
