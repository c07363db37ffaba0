import Foundation
import Resources

/// An agent's status as last read or written, kept small: what the next status takes from it
/// (`previous`: its phase, its template's sync and its conditions' transitions) and a fingerprint
/// of the whole, so a status that did not change is not written again. The leader keeps one per
/// agent for its term (`FleetCache`, from `StoredState.stored`). Whole `AgentStatus` values were
/// about 1 KB an agent there (their conditions' messages, copies of the instance's URLs): 40 MB of
/// the controller's memory at 40,000 agents.
package struct StatusMemo: Sendable {
    /// The status's hash: equal statuses hash equal. Two different ones share it with odds of one
    /// in 2^64; the status is then written at its next change.
    package let fingerprint: Int
    package let phase: AgentPhase
    private let templateGeneration: Int?
    private let templateSyncedAt: Date?
    private let transitions: [Transition]
    /// `Claimed`'s message while its reason is `InstanceLost`: the builder carries it on.
    private let lostMessage: String?

    /// A condition without its message: when its status last changed, and why it holds.
    private struct Transition: Sendable {
        let type: String
        let status: String
        let reason: String
        let since: Date
    }

    package init(_ status: AgentStatus) {
        fingerprint = status.hashValue
        phase = status.phase
        templateGeneration = status.templateGeneration
        templateSyncedAt = status.templateSyncedAt
        transitions = status.conditions.map { Transition(type: $0.type, status: $0.status, reason: $0.reason, since: $0.lastTransitionTime) }
        lostMessage = status.conditions.first { $0.type == AgentConditionType.claimed.rawValue && $0.reason == "InstanceLost" }?.message
    }

    /// Whether `status` is the one remembered.
    package func same(as status: AgentStatus) -> Bool { status.hashValue == fingerprint }

    /// The remembered status with what `StatusBuilder.agent` reads of a previous one: the next
    /// status built from it equals the one built from the whole (`StatusMemoTests`).
    package var previous: AgentStatus {
        var status = AgentStatus(phase: phase)
        status.templateGeneration = templateGeneration
        status.templateSyncedAt = templateSyncedAt
        status.conditions = transitions.map { t in
            let message = t.type == AgentConditionType.claimed.rawValue && t.reason == "InstanceLost" ? lostMessage ?? "" : ""
            return Condition(type: t.type, status: t.status, reason: t.reason, message: message, lastTransitionTime: t.since, observedGeneration: 0)
        }
        return status
    }
}
