import Foundation

/// The lifecycle of a pool instance, as stored in `pool.instances.state`.
public enum InstanceState: String, WireEnum {
    case provisioning, idle, claimed, failed, deleting
}

/// What the services layer observes of an instance (the seed's four states): its deploy is under
/// way, it failed, the runtime's `/pool/health` says ready, or the deploy succeeded but the runtime
/// is not ready or does not answer.
public enum InstanceHealth: String, WireEnum {
    case deploying
    case deployFailed = "deploy_failed"
    case healthy
    case unreachable
}

/// Where a claimed runtime's conversation stands beyond configured: a join waiting for the
/// conversation owner's approval, or a runtime that disagrees with the agent (another
/// conversation, a refused join) and is never reused without an operator.
public enum RuntimeAcceptance: String, WireEnum {
    case pending, tainted
}

/// One instance of a pool, as `GET /v1/instances` shows it. Controller-owned and read-only.
public struct Instance: Codable, Sendable, Equatable {
    public var id: String
    public var state: InstanceState
    public var pool: String
    public var imageDigest: String?
    public var url: String?
    public var agent: String?
    public var parentInstance: String?
    public var health: InstanceHealth?
    public var conversationId: String?
    public var inviteUrl: String?
    public var createdAt: Date
    public var claimedAt: Date?
    public var templateSyncedAt: Date?
    /// `openclaw` or `hermes`, and the version, as the runtime's `/pool/health` names them.
    public var runtimeType: String?
    public var runtimeVersion: String?
    /// A join waiting for acceptance, or a tainted runtime.
    public var acceptance: RuntimeAcceptance?

    public init(id: String, state: InstanceState, pool: String, imageDigest: String? = nil, url: String? = nil,
                agent: String? = nil, parentInstance: String? = nil, health: InstanceHealth? = nil,
                conversationId: String? = nil, inviteUrl: String? = nil, createdAt: Date, claimedAt: Date? = nil,
                templateSyncedAt: Date? = nil, runtimeType: String? = nil, runtimeVersion: String? = nil, acceptance: RuntimeAcceptance? = nil) {
        self.runtimeType = runtimeType
        self.runtimeVersion = runtimeVersion
        self.acceptance = acceptance
        self.id = id
        self.state = state
        self.pool = pool
        self.imageDigest = imageDigest
        self.url = url
        self.agent = agent
        self.parentInstance = parentInstance
        self.health = health
        self.conversationId = conversationId
        self.inviteUrl = inviteUrl
        self.createdAt = createdAt
        self.claimedAt = claimedAt
        self.templateSyncedAt = templateSyncedAt
    }
}
