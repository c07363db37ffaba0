import Foundation

/// A user's agent: an instance of the pool bound to an owner and shaped by a template.
public struct AgentSpec: ResourceSpec {
    public static let kind = ResourceKind.agent

    public var template: String
    public var owner: String
    /// Another agent of the same owner whose context the new agent starts from.
    public var cloneFrom: String?

    public init(template: String, owner: String, cloneFrom: String? = nil) {
        self.template = template
        self.owner = owner
        self.cloneFrom = cloneFrom
    }

    public func validate() -> [FieldError] {
        var errors = Check.dnsLabel(template, at: "spec.template")
        errors += Check.text(owner, at: "spec.owner", max: 128)
        if let cloneFrom { errors += Check.dnsLabel(cloneFrom, at: "spec.cloneFrom") }
        return errors
    }
}

public enum AgentPhase: String, Codable, Sendable, CaseIterable {
    case pending = "Pending"
    case provisioning = "Provisioning"
    case ready = "Ready"
    case failed = "Failed"
    case terminating = "Terminating"
}

/// A Kubernetes-style condition: one aspect of an object's state and when it last changed.
public struct Condition: Codable, Sendable, Equatable {
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

/// The agent's condition types, in the order they become true.
public enum AgentConditionType: String, Sendable, CaseIterable {
    case claimed = "Claimed"
    case toolsReady = "ToolsReady"
    case templateSynced = "TemplateSynced"
    case ready = "Ready"
}

public struct AgentStatus: Codable, Sendable, Equatable {
    public var phase: AgentPhase = .pending
    public var instanceId: String?
    public var url: String?
    public var observedGeneration: Int = 0
    public var templateGeneration: Int?
    public var templateSyncedAt: Date?
    public var conditions: [Condition] = []
    public init(phase: AgentPhase = .pending) { self.phase = phase }
}
