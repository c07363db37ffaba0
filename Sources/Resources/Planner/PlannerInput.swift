import Foundation

/// Everything the planner sees: desired state from Postgres and observed state from the one batch
/// status call, as plain values. Built by the reconciler each tick.
public struct PlannerInput: Sendable {
    public var now: Date
    public var pools: [PoolView]
    public var templates: [String: TemplateView]
    public var agents: [AgentView]
    public var instances: [InstanceView]
    public var orphans: [OrphanView]
    public var settings: PlannerSettings

    public init(now: Date, pools: [PoolView], templates: [String: TemplateView], agents: [AgentView],
                instances: [InstanceView], orphans: [OrphanView] = [], settings: PlannerSettings = PlannerSettings()) {
        self.now = now
        self.pools = pools
        self.templates = templates
        self.agents = agents
        self.instances = instances
        self.orphans = orphans
        self.settings = settings
    }
}

public struct PlannerSettings: Sendable, Equatable {
    /// An instance not ready this long after creation is replaced.
    public var stuckAfter: TimeInterval = 600
    /// An orphan is deleted once seen this long.
    public var orphanGrace: TimeInterval = 60
    /// Instances on an old digest replaced per tick.
    public var replaceBatch = 2
    /// Creates allowed this tick per pool (slow start: 1, doubling while creates succeed).
    public var createBudget: [String: Int] = [:]
    public init() {}
}

public struct PoolView: Sendable, Equatable {
    public var name: String
    public var spec: PoolSpec
    /// The digest the image tag resolves to now; nil until resolved (then nothing is created).
    public var digest: String?
    public init(name: String, spec: PoolSpec, digest: String?) { self.name = name; self.spec = spec; self.digest = digest }
}

public struct TemplateView: Sendable, Equatable {
    public var name: String
    public var spec: AgentTemplateSpec
    public var generation: Int
    public init(name: String, spec: AgentTemplateSpec, generation: Int) { self.name = name; self.spec = spec; self.generation = generation }
}

public struct AgentView: Sendable, Equatable {
    public var name: String
    public var spec: AgentSpec
    public var deleting: Bool
    public var createdAt: Date
    public init(name: String, spec: AgentSpec, deleting: Bool = false, createdAt: Date) {
        self.name = name
        self.spec = spec
        self.deleting = deleting
        self.createdAt = createdAt
    }
}

/// One instance, joined with what the services layer and Railway say of it.
public struct InstanceView: Sendable, Equatable {
    public var id: String
    public var pool: String
    public var state: InstanceState
    public var digest: String?
    public var url: String?
    public var agent: String?
    public var createdAt: Date
    /// The services row: `missing`, `creating`, `ready`, `deleting`, `deleted`.
    public var servicesState: String
    /// Railway's deployment status, `MISSING` when the project is gone, nil when unknown.
    public var deployStatus: String?
    /// Tool name to services state (`creating`, `ready`, ...).
    public var tools: [String: String]
    /// Tool name to the last error, when a provision failed.
    public var toolErrors: [String: String]
    public var templateGeneration: Int?
    public var cloneSummarySent: Bool
    public var parentInstance: String?

    public init(id: String, pool: String, state: InstanceState, digest: String? = nil, url: String? = nil, agent: String? = nil,
                createdAt: Date, servicesState: String = "ready", deployStatus: String? = "SUCCESS", tools: [String: String] = [:],
                toolErrors: [String: String] = [:], templateGeneration: Int? = nil, cloneSummarySent: Bool = false,
                parentInstance: String? = nil) {
        self.id = id
        self.pool = pool
        self.state = state
        self.digest = digest
        self.url = url
        self.agent = agent
        self.createdAt = createdAt
        self.servicesState = servicesState
        self.deployStatus = deployStatus
        self.tools = tools
        self.toolErrors = toolErrors
        self.templateGeneration = templateGeneration
        self.cloneSummarySent = cloneSummarySent
        self.parentInstance = parentInstance
    }

    public var deployFailed: Bool { ["FAILED", "CRASHED", "REMOVED", "MISSING"].contains(deployStatus ?? "") }
    public var deployed: Bool { deployStatus == "SUCCESS" }
}

/// A Railway project that carries our naming but has no row.
public struct OrphanView: Sendable, Equatable {
    public var instanceID: String
    public var firstSeen: Date
    public init(instanceID: String, firstSeen: Date) { self.instanceID = instanceID; self.firstSeen = firstSeen }
}

/// One thing the reconciler should do. `key` names the resource it touches: the work queue never
/// runs two actions of one key at once, and coalesces duplicates.
public enum Action: Sendable, Equatable, CustomStringConvertible {
    case createInstances(pool: String, count: Int, digest: String)
    case startInstance(instance: String, image: String)
    case markIdle(instance: String, url: String)
    case markFailed(instance: String, reason: String)
    case bindAgent(agent: String, pool: String)
    case provisionTool(agent: String, instance: String, tool: ToolName)
    case pushTemplate(agent: String, instance: String, generation: Int)
    case sendCloneSummary(agent: String, instance: String, parentInstance: String)
    case teardown(instance: String, reason: String)
    case removeAgent(agent: String)
    case deleteOrphan(instanceID: String)

    public var key: String {
        switch self {
        case .createInstances(let pool, _, _): return "pool/\(pool)"
        case .startInstance(let i, _), .markIdle(let i, _), .markFailed(let i, _), .teardown(let i, _): return "instance/\(i)"
        case .bindAgent(let a, _), .removeAgent(let a): return "agent/\(a)"
        case .provisionTool(let a, _, let tool): return "agent/\(a)/\(tool.rawValue)"
        case .pushTemplate(let a, _, _): return "agent/\(a)/template"
        case .sendCloneSummary(let a, _, _): return "agent/\(a)/clone"
        case .deleteOrphan(let i): return "orphan/\(i)"
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
        case .provisionTool: return "provisionTool"
        case .pushTemplate: return "pushTemplate"
        case .sendCloneSummary: return "sendCloneSummary"
        case .teardown: return "teardown"
        case .removeAgent: return "removeAgent"
        case .deleteOrphan: return "deleteOrphan"
        }
    }

    public var description: String { "\(kind) \(key)" }
}
