import Foundation

/// A user's agent: an instance of the pool bound to an owner and configured from a template, or,
/// without one, from its own name and instructions (the seed's old claim flow).
public struct AgentSpec: ResourceSpec {
    public static let kind = ResourceKind.agent

    /// The template; none for the old flow (no per-agent tools).
    public var template: String?
    /// Who the agent belongs to (the seed's `owner_id`); fixed at creation.
    public var owner: String?
    /// Override the template's agent name and instructions.
    public var agentName: String?
    public var instructions: String?
    /// Another model, only when the template allows override.
    public var model: String?
    /// Join this conversation instead of creating one.
    public var joinUrl: String?
    /// Another agent of the same owner whose context the new agent starts from.
    public var cloneFrom: String?
    /// What to do when the agent's Railway project is gone (deleted behind our back): bind a fresh
    /// instance (the default), or stay `Failed` until deleted.
    public var onInstanceLost: InstanceLostPolicy?
    /// Pins the agent's runtime (a tag or digest): rollouts skip it.
    public var runtimeImage: String?

    public init(template: String? = nil, owner: String? = nil, agentName: String? = nil, instructions: String? = nil,
                model: String? = nil, joinUrl: String? = nil, cloneFrom: String? = nil, onInstanceLost: InstanceLostPolicy? = nil,
                runtimeImage: String? = nil) {
        self.template = template
        self.owner = owner
        self.agentName = agentName
        self.instructions = instructions
        self.model = model
        self.joinUrl = joinUrl
        self.cloneFrom = cloneFrom
        self.onInstanceLost = onInstanceLost
        self.runtimeImage = runtimeImage
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if let template { errors += Check.dnsLabel(template, at: "spec.template") }
        if let owner { errors += Check.text(owner, at: "spec.owner", max: 128) }
        if let agentName { errors += Check.text(agentName, at: "spec.agentName", max: 128) }
        if let instructions { errors += Check.text(instructions, at: "spec.instructions", max: 64 * 1024, multiline: true) }
        if let model { errors += ModelChoice.checkModel(model, at: "spec.model") }
        if let joinUrl { errors += Check.url(joinUrl, at: "spec.joinUrl") }
        if let runtimeImage, ImageReference(runtimeImage) == nil {
            errors.append(FieldError("spec.runtimeImage", "must be an image reference with a registry, like ghcr.io/owner/name:tag or ...@sha256:..."))
        }
        if let cloneFrom {
            errors += Check.dnsLabel(cloneFrom, at: "spec.cloneFrom")
            if owner == nil { errors.append(FieldError("spec.owner", "required with spec.cloneFrom: only the parent's owner may clone it")) }
        }
        return errors
    }
}

/// `spec.onInstanceLost`: a lost instance is replaced (a new conversation and invite URL), or the
/// agent fails and keeps it for a person to look at.
public enum InstanceLostPolicy: String, WireEnum {
    case rebind = "Rebind"
    case fail = "Fail"
}

public enum AgentPhase: String, WireEnum {
    case pending = "Pending"
    case provisioning = "Provisioning"
    case ready = "Ready"
    /// Its runtime moves to another digest (a rollout, `self-upgrade`, or back after a failure).
    case upgrading = "Upgrading"
    case failed = "Failed"
    case terminating = "Terminating"
}

/// A Kubernetes-style condition: one aspect of an object's state and when it last changed.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    /// "True", "False" or "Unknown".
    public var status: String
    public var reason: String
    public var message: String
    public var lastTransitionTime: Date
    public var observedGeneration: Int

    public init(type: String, status: String, reason: String, message: String = "", lastTransitionTime: Date, observedGeneration: Int) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
        self.observedGeneration = observedGeneration
    }
}

/// The agent's condition types, in the order CONTRACT.md lists them.
public enum AgentConditionType: String, Sendable, CaseIterable {
    case claimed = "Claimed"
    case toolsReady = "ToolsReady"
    case configured = "Configured"
    case templateSynced = "TemplateSynced"
    case ready = "Ready"
}

public struct AgentStatus: Codable, Sendable, Hashable {
    public var phase: AgentPhase = .pending
    public var instanceId: String?
    public var url: String?
    /// The agent's conversation, as the runtime's `/pool/provision` answered.
    public var conversationId: String?
    public var inviteUrl: String?
    public var joined: Bool?
    public var observedGeneration: Int = 0
    public var templateGeneration: Int?
    public var templateSyncedAt: Date?
    /// The version its runtime's `/pool/health` names.
    public var runtimeVersion: String?
    public var conditions: [Condition] = []
    public init(phase: AgentPhase = .pending) { self.phase = phase }
}
