import Foundation
import Resources
import Services
import Store

/// The rollout's steps (issue 25): an upgrade is one patch commit of the agent's own service, then
/// its runtime's word (ready on the new version, its own conversation) before it counts; a failure
/// returns it to the digest it ran and halts its pool's rollout.
extension Executor {
    /// Intent first, then the commit, then its time: a commit that failed is made again; a ready
    /// runtime is never taken for the new one before the commit was recorded.
    package func upgrade(instance: String, agent: String, digest: String, image: String) async throws -> ReconcileOutcome {
        guard try await writes.beginUpgrade(instance: instance, agent: agent, to: digest) else { return .converged }
        let removed = try await services.upgrade(instance, image: image, allowed: Array(try await writes.poolEnv(of: instance).keys))
        try await writes.committedUpgrade(instance: instance)
        if !removed.isEmpty {
            try await writes.event(kind: "Instance", name: instance, type: "Warning", reason: "VariablesRemoved",
                                   message: "removed \(removed.joined(separator: ", ")) with the upgrade, which the contract does not list")
        }
        return .converged
    }

    /// Ready on the new digest: the runtime must still hold the agent's own conversation (a seed-era
    /// runtime cannot say: taken as kept); another one, or none, is a failed upgrade.
    package func confirmUpgrade(instance: String, agent: String) async throws -> ReconcileOutcome {
        guard let bound = try await bound(agent: agent, instance: instance) else { return .converged }
        if let state = try await services.conversationState(instance), state.conversationId != bound.conversationId {
            let error = state.conversationId.map { "it came back in conversation \($0), not the agent's" } ?? "it came back without the agent's conversation"
            try await writes.beginRollback(instance: instance, agent: agent, error: error)
            return .requeue(after: .milliseconds(100))
        }
        try await writes.confirmUpgrade(instance: instance, agent: agent)
        return .converged
    }

    /// Back to the digest it ran: the halt and the events first, then the commit.
    package func rollBack(instance: String, agent: String, image: String, error: String) async throws -> ReconcileOutcome {
        guard try await writes.beginRollback(instance: instance, agent: agent, error: error) else { return .converged }
        _ = try await services.upgrade(instance, image: image, allowed: Array(try await writes.poolEnv(of: instance).keys))
        try await writes.committedUpgrade(instance: instance)
        return .converged
    }
}
