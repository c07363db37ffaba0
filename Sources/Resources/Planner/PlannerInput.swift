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
    /// The status batch resynced the fleet just now: the tools' audit is due.
    public var auditDue = false
    /// The reuse pool of phone numbers wants orders placed or followed (`TELNYX_SPARE_NUMBERS`).
    public var numberStockDue = false
    /// Instances with a second Railway project of their name, as the resync found them.
    public var strays: [String] = []
    /// Positions of the instances and agents, kept by the caller as they change; nil: the planner
    /// builds it (one pass). Must describe these arrays: set it only beside them.
    public var index: FleetIndex?

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
    /// An instance not healthy this long after creation is replaced (`POOL_STUCK_TIMEOUT`).
    public var stuckAfter: TimeInterval = 900
    /// An orphan is deleted once seen this long.
    public var orphanGrace: TimeInterval = 60
    /// Instances on an old digest replaced per tick.
    public var replaceBatch = 2
    /// Creates allowed this tick per pool (slow start: 1, doubling while creates succeed).
    public var createBudget: [String: Int] = [:]
    /// Failed instances on one digest within `failureWindow` after which a pool stops creating
    /// (`CrashLoop`); 0 turns the rule off.
    public var failureLimit = 3
    public var failureWindow: TimeInterval = 600
    /// How long a rollout's canaries must have been healthy on the new digest before the rest go
    /// (CONTRACT.md: a minute; tests shorten it).
    public var canaryProof: TimeInterval = 60
    public init() {}
}

public struct PoolView: Sendable, Equatable {
    public var name: String
    public var spec: PoolSpec
    /// The digest the image tag resolves to now; nil until resolved (then nothing is created).
    public var digest: String?
    public var generation: Int
    /// Its instances that failed lately (the crash-loop rule reads them).
    public var failures: [PoolFailure]
    /// Its claimed agents' rollout, once one started.
    public var rollout: RolloutView?
    public init(name: String, spec: PoolSpec, digest: String?, generation: Int = 1, failures: [PoolFailure] = []) {
        self.name = name
        self.spec = spec
        self.digest = digest
        self.generation = generation
        self.failures = failures
    }
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

    /// The runtime configuration this agent should run, given the templates.
    public func config(_ templates: [String: TemplateView]) -> AgentConfig {
        AgentConfig.resolve(spec, template: spec.template.flatMap { templates[$0]?.spec })
    }
}

/// How far the services layer has got with an instance's external resources.
public enum InstanceSetup: String, WireEnum {
    /// No services row: nothing was ever started.
    case missing
    /// Project, service, volume, domain and the one deploy are being made.
    case creating
    /// The deploy was committed; health says the rest.
    case created
    case deleting, deleted
}

/// One tool of an instance, as the services layer reports it.
public struct ToolView: Sendable, Equatable {
    public var state: ToolState
    /// The tool's variables reached the running agent (`/pool/restart-gateway`).
    public var delivered: Bool
    /// Settings in force at the provider (`limitUsd` of the OpenRouter key); never a secret.
    public var config: [String: String]
    /// Why the last provision failed, when it did.
    public var errorCode: ServicesErrorCode?
    public var error: String?
    /// The provider's id of it (key hash, inbox id); nil while it is being made. Not a secret.
    public var resourceId: String?

    /// Released at its runtime's own request (`/api/proxy/.../unprovision`): not made again until asked.
    public var releasedByRuntime: Bool { (state == .deleting || state == .deleted) && config["releasedByRuntime"] == "true" }

    public init(state: ToolState, delivered: Bool = true, config: [String: String] = [:], errorCode: ServicesErrorCode? = nil, error: String? = nil,
                resourceId: String? = nil) {
        self.state = state
        self.delivered = delivered
        self.config = config
        self.errorCode = errorCode
        self.error = error
        self.resourceId = resourceId
    }

    /// Made, and in the running agent's hands.
    public var inPlace: Bool { state == .ready && delivered }
}

public enum ToolState: String, WireEnum {
    case creating, pending, ready, deleting, deleted
}

/// The error codes of the services API, kept across the wire (CONTRACT.md section 5).
public enum ServicesErrorCode: String, WireEnum {
    case invalid = "Invalid"
    case notFound = "NotFound"
    case conflict = "Conflict"
    case unauthorized = "Unauthorized"
    case forbidden = "Forbidden"
    case providerNotConfigured = "ProviderNotConfigured"
    case providerError = "ProviderError"
    case providerUnavailable = "ProviderUnavailable"
    /// The provider's quota or creation pace holds the call back until `Retry-After`.
    case providerQuota = "ProviderQuota"
    /// A plan limit of the provider (AgentMail's inbox count): stays until the plan changes.
    case providerLimitExceeded = "ProviderLimitExceeded"
    case bankrPoolEmpty = "BankrPoolEmpty"
    case userConfigMissing = "UserConfigMissing"
    case runtimeNotReady = "RuntimeNotReady"
    case runtimeError = "RuntimeError"

    /// Codes that no retry will fix: the action stops and the condition says why.
    public var isPermanent: Bool {
        [.providerNotConfigured, .providerLimitExceeded, .bankrPoolEmpty, .userConfigMissing, .invalid, .forbidden].contains(self)
    }
}

/// One instance, joined with what the services layer and Railway say of it. A value, copied as
/// one reference (copy on write): a tick passes tens of thousands of them around, and copying
/// thirty fields each time was most of a quiet tick's cost at 10,000 instances.
@dynamicMemberLookup
public struct InstanceView: Sendable, Equatable {
    // Inlinable, so a field read from another module is a load, not a key path applied at run
    // time: through the generic subscript, a quarter of a quiet 50,000-instance tick went to
    // `swift_getAtKeyPath` and the metadata it instantiates.
    @usableFromInline final class Box: @unchecked Sendable {
        // Written only while uniquely referenced (`fields`' setter copies first).
        @usableFromInline var fields: InstanceFields
        @usableFromInline init(_ fields: InstanceFields) { self.fields = fields }
    }
    @usableFromInline var box: Box

    @inlinable public var fields: InstanceFields {
        get { box.fields }
        set {
            if isKnownUniquelyReferenced(&box) { box.fields = newValue } else { box = Box(newValue) }
        }
    }

    @inlinable public subscript<T>(dynamicMember key: WritableKeyPath<InstanceFields, T>) -> T {
        get { box.fields[keyPath: key] }
        set {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            box.fields[keyPath: key] = newValue
        }
    }

    public init(_ fields: InstanceFields) { box = Box(fields) }

    public init(id: String, pool: String, state: InstanceState, digest: String? = nil, url: String? = nil, agent: String? = nil,
                createdAt: Date, setup: InstanceSetup = .created, health: InstanceHealth? = .healthy, deployStatus: DeployStatus? = .success,
                tools: [ToolName: ToolView] = [:], envPending: Bool = false, conversationId: String? = nil, inviteUrl: String? = nil,
                joined: Bool? = nil, runtimeConfig: RuntimeConfig? = nil, refusedConfig: RuntimeConfig? = nil, templateGeneration: Int? = nil,
                cloneSummaryDone: Bool = false, parentInstance: String? = nil) {
        box = Box(InstanceFields(id: id, pool: pool, state: state, digest: digest, url: url, agent: agent, createdAt: createdAt, setup: setup, health: health, deployStatus: deployStatus, tools: tools, envPending: envPending, conversationId: conversationId, inviteUrl: inviteUrl, joined: joined, runtimeConfig: runtimeConfig, refusedConfig: refusedConfig, templateGeneration: templateGeneration, cloneSummaryDone: cloneSummaryDone, parentInstance: parentInstance))
    }

    @inlinable public static func == (a: InstanceView, b: InstanceView) -> Bool { a.box === b.box || a.box.fields == b.box.fields }

    @inlinable public var deployFailed: Bool { box.fields.health == .deployFailed }
    @inlinable public var healthy: Bool { box.fields.health == .healthy }
    @inlinable public var configured: Bool { box.fields.conversationId != nil }
    /// Its Railway project is gone: listed missing at a resync, then confirmed by id.
    @inlinable public var lost: Bool { box.fields.setup == .created && box.fields.deployStatus == .missing }
}

/// An instance's fields, held by `InstanceView` behind one reference. What few instances hold at
/// once (an upgrade under way, a refused configuration, a quota wait, a join waiting for
/// acceptance, a clone's parent) sits behind one more, nil while all of it is unset: inline, those
/// fields were a third of each of 50,000 views.
public struct InstanceFields: Sendable, Equatable {
    public var id: String
    public var pool: String
    public var state: InstanceState
    public var digest: String?
    public var url: String?
    public var agent: String?
    public var createdAt: Date
    public var setup: InstanceSetup
    /// The seed's four states; nil when the status call did not cover the instance.
    public var health: InstanceHealth?
    /// Railway's deployment status, `MISSING` when the project is gone, nil when unknown.
    public var deployStatus: DeployStatus?
    public var tools: [ToolName: ToolView]
    /// Variables written for the runtime (a model change) that it has not been handed yet.
    public var envPending: Bool
    /// The conversation the runtime's `/pool/provision` made or joined; nil until configured.
    public var conversationId: String?
    public var inviteUrl: String?
    public var joined: Bool?
    /// What the runtime was last configured with.
    public var runtimeConfig: RuntimeConfig?
    public var templateGeneration: Int?
    /// The clone summary reached the parent, or the parent's runtime does not take one.
    public var cloneSummaryDone: Bool
    /// When its one deployment was committed: the stuck timeout counts from here, so time spent
    /// waiting for a provider's quota before it never does.
    public var deployedAt: Date?
    /// What the runtime's `/pool/health` last said it runs.
    public var runtimeVersion: String?
    public var runtimeType: String?
    /// The digest it ran before its last upgrade (kept after a success, for `rollout undo`), and
    /// when it last finished one: after a rollout, every instance has them.
    public var previousDigest: String?
    public var upgradedAt: Date?
    @usableFromInline var rare: RareBox?

    public init(id: String, pool: String, state: InstanceState, digest: String? = nil, url: String? = nil, agent: String? = nil,
                createdAt: Date, setup: InstanceSetup = .created, health: InstanceHealth? = .healthy, deployStatus: DeployStatus? = .success,
                tools: [ToolName: ToolView] = [:], envPending: Bool = false, conversationId: String? = nil, inviteUrl: String? = nil,
                joined: Bool? = nil, runtimeConfig: RuntimeConfig? = nil, refusedConfig: RuntimeConfig? = nil, templateGeneration: Int? = nil,
                cloneSummaryDone: Bool = false, parentInstance: String? = nil) {
        self.id = id
        self.pool = pool
        self.state = state
        self.digest = digest
        self.url = url
        self.agent = agent
        self.createdAt = createdAt
        self.setup = setup
        self.health = health
        self.deployStatus = deployStatus
        self.tools = tools
        self.envPending = envPending
        self.conversationId = conversationId
        self.inviteUrl = inviteUrl
        self.joined = joined
        self.runtimeConfig = runtimeConfig
        self.templateGeneration = templateGeneration
        self.cloneSummaryDone = cloneSummaryDone
        self.refusedConfig = refusedConfig
        self.parentInstance = parentInstance
    }

    /// The fields few instances set (see the type's comment).
    public struct Rare: Sendable, Equatable {
        /// A configuration the runtime refused (no `/pool/update-template`).
        public var refusedConfig: RuntimeConfig?
        public var parentInstance: String?
        /// Its create waits for a provider's quota until then, with the provider's last word.
        public var quotaWaitUntil: Date?
        public var lastError: String?
        /// Made before its variables were held to the contract, not looked at since.
        public var variablesUnchecked = false
        /// A join waiting for acceptance, or a tainted runtime; nil otherwise.
        public var acceptance: RuntimeAcceptance?
        public var acceptanceMessage: String?
        /// An upgrade in flight: its phase, the digest it moves to, since when, why it failed; and
        /// a `self-upgrade` asked.
        public var upgradePhase: UpgradePhase?
        public var upgradeTo: String?
        public var upgradeStartedAt: Date?
        public var upgradeError: String?
        public var upgradeRequested = false
        public init() {}
    }

    /// `Rare` behind a reference, replaced (never written in place) when a field changes, so
    /// copies of an instance never share a change.
    @usableFromInline final class RareBox: Sendable, Equatable {
        @usableFromInline let fields: Rare
        @usableFromInline init(_ fields: Rare) { self.fields = fields }
        @usableFromInline static func == (a: RareBox, b: RareBox) -> Bool { a === b || a.fields == b.fields }
    }

    @usableFromInline mutating func setRare<T>(_ key: WritableKeyPath<Rare, T>, _ value: T) {
        var fields = rare?.fields ?? Rare()
        fields[keyPath: key] = value
        rare = fields == Rare() ? nil : RareBox(fields)
    }

    @inlinable public var refusedConfig: RuntimeConfig? { get { rare?.fields.refusedConfig } set { setRare(\.refusedConfig, newValue) } }
    @inlinable public var parentInstance: String? { get { rare?.fields.parentInstance } set { setRare(\.parentInstance, newValue) } }
    @inlinable public var quotaWaitUntil: Date? { get { rare?.fields.quotaWaitUntil } set { setRare(\.quotaWaitUntil, newValue) } }
    @inlinable public var lastError: String? { get { rare?.fields.lastError } set { setRare(\.lastError, newValue) } }
    @inlinable public var variablesUnchecked: Bool { get { rare?.fields.variablesUnchecked ?? false } set { setRare(\.variablesUnchecked, newValue) } }
    @inlinable public var acceptance: RuntimeAcceptance? { get { rare?.fields.acceptance } set { setRare(\.acceptance, newValue) } }
    @inlinable public var acceptanceMessage: String? { get { rare?.fields.acceptanceMessage } set { setRare(\.acceptanceMessage, newValue) } }
    @inlinable public var upgradePhase: UpgradePhase? { get { rare?.fields.upgradePhase } set { setRare(\.upgradePhase, newValue) } }
    @inlinable public var upgradeTo: String? { get { rare?.fields.upgradeTo } set { setRare(\.upgradeTo, newValue) } }
    @inlinable public var upgradeStartedAt: Date? { get { rare?.fields.upgradeStartedAt } set { setRare(\.upgradeStartedAt, newValue) } }
    @inlinable public var upgradeError: String? { get { rare?.fields.upgradeError } set { setRare(\.upgradeError, newValue) } }
    @inlinable public var upgradeRequested: Bool { get { rare?.fields.upgradeRequested ?? false } set { setRare(\.upgradeRequested, newValue) } }
}

/// The part of an agent's configuration its running runtime holds: what `/pool/provision` and
/// `/pool/update-template` send, and the model it was handed.
public struct RuntimeConfig: Codable, Sendable, Equatable {
    public var agentName: String
    public var instructions: String
    public var model: String?
    public init(agentName: String, instructions: String, model: String?) {
        self.agentName = agentName
        self.instructions = instructions
        self.model = model
    }
    public init(_ config: AgentConfig) { self.init(agentName: config.agentName, instructions: config.instructions, model: config.model) }
}

/// A Railway project that carries our naming but has no row.
public struct OrphanView: Sendable, Equatable {
    public var instanceID: String
    public var firstSeen: Date
    public init(instanceID: String, firstSeen: Date) { self.instanceID = instanceID; self.firstSeen = firstSeen }
}
