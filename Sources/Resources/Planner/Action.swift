/// One thing the reconciler should do. `key` names the resource it touches: the work queue never
/// runs two actions of one key at once, and coalesces duplicates.
public enum Action: Sendable, Equatable, CustomStringConvertible {
    case createInstances(pool: String, count: Int, digest: String)
    case startInstance(instance: String, image: String)
    case markIdle(instance: String, url: String)
    case markFailed(instance: String, reason: String)
    case bindAgent(agent: String, pool: String)
    /// The agent's instance lost its Railway project: unbind it so the agent takes a fresh one
    /// (`rebind`), or fail the agent (`spec.onInstanceLost: Fail`).
    case instanceLost(agent: String, instance: String, rebind: Bool)
    /// The runtime's `/pool/provision`: agent name, instructions, join URL; answers the invite.
    case configure(agent: String, instance: String)
    case provisionTool(agent: String, instance: String, tool: ToolName)
    /// A tool the agent's template no longer declares: released at its provider and taken from the
    /// running agent. `resourceID` nil: not known by id (never finished), found by its name.
    case deprovisionTool(agent: String, instance: String, tool: ToolName, resourceID: String?)
    /// The agent's configuration changed since the runtime was configured: push it.
    case pushTemplate(agent: String, instance: String, generation: Int?)
    case sendCloneSummary(agent: String, instance: String, parentInstance: String)
    /// An instance made before this version: what the contract does not list leaves its variables.
    case pruneVariables(instance: String)
    /// The runtime's `/convos/status` against the agent's conversation: a pending join settled,
    /// or a runtime that disagrees (`Tainted`).
    case checkConversation(agent: String, instance: String)
    case teardown(instance: String, reason: String)
    case removeAgent(agent: String)
    case deleteOrphan(instanceID: String)
    /// Variables the instance's runtime has not received yet (a crash or a failed restart left them
    /// undelivered), now that it answers: hand them over.
    case handOver(instance: String)
    /// The status batch resynced the fleet: look for tools deleted behind our back.
    case auditTools
    /// A second Railway project of the instance's name (a deposed leader's create): delete it.
    case removeStrays(instance: String)
    /// The reuse pool of numbers holds fewer than `TELNYX_SPARE_NUMBERS`, or orders for it are
    /// pending: order ahead, follow.
    case stockNumbers
    /// Claimed agents are behind their pool's new digest: the rollout's record (`paused` for `Manual`).
    case startRollout(pool: String, digest: String, previous: String?, paused: Bool)
    /// One agent's runtime to `digest`: one patch commit of its own service (CONTRACT.md section 3).
    case upgradeInstance(instance: String, agent: String, digest: String, image: String)
    /// Its runtime came back ready on the new digest: checked against the agent's conversation.
    case confirmUpgrade(instance: String, agent: String)
    /// The upgrade failed: back to the digest it ran before, and the rollout halts.
    case rollBack(instance: String, agent: String, image: String, error: String)
    /// The rollback's runtime is ready again.
    case finishRollback(instance: String, agent: String)

    public var key: String {
        switch self {
        case .createInstances(let pool, _, _): return "pool/\(pool)"
        case .startInstance(let i, _), .markIdle(let i, _), .markFailed(let i, _), .teardown(let i, _): return "instance/\(i)"
        case .bindAgent(let a, _), .removeAgent(let a), .instanceLost(let a, _, _): return "agent/\(a)"
        case .provisionTool(let a, _, let tool), .deprovisionTool(let a, _, let tool, _): return "agent/\(a)/\(tool.rawValue)"
        // Both talk to the runtime's conversation: never at once.
        case .configure(let a, _), .pushTemplate(let a, _, _), .checkConversation(let a, _): return "agent/\(a)/runtime"
        case .sendCloneSummary(let a, _, _): return "agent/\(a)/clone"
        case .deleteOrphan(let i): return "orphan/\(i)"
        case .handOver(let i), .pruneVariables(let i): return "instance/\(i)/env"
        case .auditTools: return "audit/tools"
        case .removeStrays(let i): return "instance/\(i)/strays"
        case .stockNumbers: return "numbers/stock"
        case .startRollout(let pool, _, _, _): return "rollout/\(pool)"
        case .upgradeInstance(let i, _, _, _), .confirmUpgrade(let i, _), .rollBack(let i, _, _, _), .finishRollback(let i, _): return "instance/\(i)/upgrade"
        }
    }

    /// The object an action is about, for log lines: `("agent", "alice")`, `("instance", "k3x...")`.
    public var object: (kind: String, name: String) {
        let parts = key.split(separator: "/").map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
    }

    /// A short kind for metrics and events.
    public var kind: String {
        switch self {
        case .createInstances: return "createInstances"
        case .startInstance: return "startInstance"
        case .markIdle: return "markIdle"
        case .markFailed: return "markFailed"
        case .bindAgent: return "bindAgent"
        case .instanceLost: return "instanceLost"
        case .configure: return "configure"
        case .provisionTool: return "provisionTool"
        case .deprovisionTool: return "deprovisionTool"
        case .pushTemplate: return "pushTemplate"
        case .sendCloneSummary: return "sendCloneSummary"
        case .checkConversation: return "checkConversation"
        case .pruneVariables: return "pruneVariables"
        case .teardown: return "teardown"
        case .removeAgent: return "removeAgent"
        case .deleteOrphan: return "deleteOrphan"
        case .handOver: return "handOver"
        case .auditTools: return "auditTools"
        case .removeStrays: return "removeStrays"
        case .stockNumbers: return "stockNumbers"
        case .startRollout: return "startRollout"
        case .upgradeInstance: return "upgradeInstance"
        case .confirmUpgrade: return "confirmUpgrade"
        case .rollBack: return "rollBack"
        case .finishRollback: return "finishRollback"
        }
    }

    public var description: String { "\(kind) \(key)" }

    /// Lower goes first when the work queue is full: what a claimed agent needs (a bind, the
    /// conversation that answers the claim with its invite, its tools) before the warm pool's
    /// refills, and those before the rest.
    public var priority: Int {
        switch self {
        case .bindAgent, .instanceLost: return 0
        case .configure, .provisionTool: return 1
        case .markIdle, .handOver: return 2
        case .startInstance, .createInstances: return 3
        default: return 4
        }
    }

    /// Work a user waits on right now: the work queue keeps room for it that refills cannot take.
    public var isClaimPath: Bool { priority <= 1 }

    /// A requeue of this action means a provider is still at work on it (a number order completing):
    /// the work queue runs it again at its time by itself, not at the next tick. Under fifty claims
    /// a tick took up to two seconds, and each agent's last tool (its number) waited for it. Binds
    /// are not followed: one waiting for an idle instance would poll the database meanwhile.
    public var followsItself: Bool {
        switch self {
        case .configure, .provisionTool: return true
        default: return false
        }
    }
}
