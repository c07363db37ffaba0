import Foundation
import Providers
import Resources

/// The seed's services API (CONTRACT.md section 5) as the reconciler and the claim API call it: in
/// process by default (`InProcessServices`), or over HTTP when `SERVICES_URL` is set
/// (`RemoteServices`). Services owns every provider call, every Railway id and every runtime key;
/// the pool side never sees them.
public protocol ServicesClient: Sendable {
    /// The instance's Railway project (service, `/data` volume, domain, one deployment), its
    /// OpenRouter key and its wallet. Idempotent: a repeat resumes where an earlier call stopped.
    /// `env`: the pool's own variables for the runtime (`spec.env`).
    func createInstance(_ instanceID: String, image: String?, env: [String: String]) async throws -> CreatedInstance
    /// Teardown in the order OpenRouter, AgentMail, Telnyx, Bankr, then the Railway project, each
    /// confirmed gone. Idempotent; resumes where it stopped.
    func destroy(_ instanceID: String) async throws
    /// The whole fleet in one call: one Railway query, one SQL query, health pings 40 at a time.
    /// Answers for every id given (one it has no row for: deploying, not created).
    func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch
    /// Deploys another image (a digest) on the instance.
    func redeploy(_ instanceID: String, image: String?) async throws
    /// Makes one tool for the instance (or takes the user's credentials for it), stores its
    /// variables without a redeploy and hands them to the running agent. Idempotent.
    func provision(_ instanceID: String, tool: ToolName, _ request: ProvisionRequest) async throws -> ProvisionResult
    /// Removes one tool's resource and takes it from the running agent; false when it was gone already.
    @discardableResult
    func destroyTool(_ instanceID: String, tool: ToolName, resourceID: String) async throws -> Bool
    /// The runtime's `/pool/provision`: the agent's conversation. Not idempotent (each call may make one).
    func configure(_ instanceID: String, _ request: ConfigureRequest) async throws -> ConfigureResult
    /// Removes, once, what an instance made before this version holds beyond the contract's
    /// variables (`allowed`: its pool's `env` names); the names removed.
    func pruneVariables(_ instanceID: String, allowed: [String]) async throws -> [String]
    /// The runtime's `GET /convos/status`: its conversation, pending join, cleanliness and XMTP
    /// inbox id; nil for a seed-era runtime, which has no such route.
    func conversationState(_ instanceID: String) async throws -> RuntimeConversationState?
    /// The runtime's `/pool/update-template`, and the model through a restart; `supported` false on a 404.
    func updateTemplate(_ instanceID: String, _ request: ConfigureRequest) async throws -> RuntimeCallResult
    /// The parent runtime's `/pool/clone-summary`; `supported` false on a 404.
    func cloneSummary(_ parentInstanceID: String, _ request: CloneSummaryRequest) async throws -> RuntimeCallResult
    func registry() async throws -> Registry
    /// A claim's `userConfig`, kept in the services schema until the agent goes.
    func storeUserConfig(agent: String, _ values: [String: String]) async throws
    func forgetUserConfig(agent: String) async throws
    /// What a status batch saw and did not write (it is a read): Railway's deployment statuses that
    /// changed, kept so the next batch polls only what is in transition.
    func recordObserved(_ deployStatuses: [String: DeployStatus]) async throws
    /// Hands the instance's undelivered variables to its runtime (a planned `handOver`).
    func handOver(_ instanceID: String) async throws
    /// Starts the audit of tools at their providers, in the background (a planned `auditTools`).
    func auditTools() async throws
    /// Deletes every Railway project of the instance's name but the one recorded (a planned `removeStrays`).
    func removeStrays(_ instanceID: String) async throws
    /// The instance's runtime to `image` in one patch commit, its variables reconciled to the
    /// contract's set (a planned `upgradeInstance` or `rollBack`); the names removed.
    func upgrade(_ instanceID: String, image: String, allowed: [String]) async throws -> [String]
    /// One round of keeping `TELNYX_SPARE_NUMBERS` numbers ordered ahead (a planned `stockNumbers`);
    /// true while orders are pending.
    func stockNumbers() async throws -> Bool
}

public struct CreatedInstance: Codable, Sendable, Equatable {
    public var instanceId: String
    public var url: String?
}

public struct ProvisionRequest: Codable, Sendable, Equatable {
    /// Credentials of a `provisioning: user` tool, given directly (a runtime provisioning for itself).
    public var userConfig: [String: String]?
    /// Or the agent whose claim stored them.
    public var agent: String?
    public var provisioning: Provisioning?
    public var options: ToolOptions?
    public init(userConfig: [String: String]? = nil, agent: String? = nil, provisioning: Provisioning? = nil, options: ToolOptions? = nil) {
        self.userConfig = userConfig
        self.agent = agent
        self.provisioning = provisioning
        self.options = options
    }
}

public struct ProvisionResult: Codable, Sendable, Equatable {
    public var resourceId: String?
    /// The tool's settings; never a secret.
    public var config: [String: String]
    /// `pending` while the provider finishes (a Telnyx order): ask again.
    public var state: ToolState
}

public struct ConfigureRequest: Codable, Sendable, Equatable {
    public var agentName: String
    public var instructions: String
    public var model: String?
    public var joinUrl: String?
    public init(agentName: String, instructions: String, model: String? = nil, joinUrl: String? = nil) {
        self.agentName = agentName
        self.instructions = instructions
        self.model = model
        self.joinUrl = joinUrl
    }
}

/// What `POST /configure/INSTANCE` did. `ok`: the runtime made or joined the conversation, or
/// (`status: pending_acceptance`) waits for its owner's approval, without a conversation yet.
/// Not `ok`: the provision failed, the runtime was reset, and `recovery` says what it then held.
public struct ConfigureResult: Codable, Sendable, Equatable {
    public var ok: Bool
    public var conversationId: String?
    public var inviteUrl: String?
    public var joined: Bool
    public var status: ProvisionStatus?
    public var recovery: ProvisionRecovery?
    /// Why the provision failed (the runtime's words), when it did.
    public var error: String?

    public init(ok: Bool, conversationId: String?, inviteUrl: String?, joined: Bool, status: ProvisionStatus? = nil,
                recovery: ProvisionRecovery? = nil, error: String? = nil) {
        self.ok = ok
        self.conversationId = conversationId
        self.inviteUrl = inviteUrl
        self.joined = joined
        self.status = status
        self.recovery = recovery
        self.error = error
    }
}

/// A failed provision's runtime after `/convos/reset`: holding nothing (it may serve another
/// agent), or still holding a conversation (it may not).
public enum ProvisionRecovery: String, Codable, Sendable {
    case clean, dirty
}

public struct RuntimeCallResult: Codable, Sendable, Equatable {
    public var ok: Bool
    /// False when the runtime answered 404: it does not have the endpoint.
    public var supported: Bool

    public init(ok: Bool, supported: Bool) {
        self.ok = ok
        self.supported = supported
    }
}

public struct CloneSummaryRequest: Codable, Sendable, Equatable {
    public var childAgent: String
    public var childInstanceId: String
    public var childUrl: String?

    public init(childAgent: String, childInstanceId: String, childUrl: String?) {
        self.childAgent = childAgent
        self.childInstanceId = childInstanceId
        self.childUrl = childUrl
    }
}

public struct StatusBatch: Codable, Sendable, Equatable {
    public var statuses: [String: InstanceStatus]
    /// Projects that carry our naming but have no services row: left by a crash or by hand.
    public var orphans: [String]?
    /// Deployment statuses Railway reported that differ from those kept: the reconciler records
    /// them (`recordObserved`), under its fence.
    public var observed: [String: DeployStatus]?
    /// True when this batch listed the whole fleet (a resync): the tools' audit is due.
    public var resynced: Bool?
    /// Instances with a second Railway project of their name, or a second service in their project
    /// (a deposed leader's create that left just before it froze, answered after the next leader
    /// made the instance's): to remove.
    public var strays: [String]?
    /// Numbers to order ahead or orders to follow (`TELNYX_SPARE_NUMBERS`); nil when none.
    public var numberStock: NumberStock?
    /// Where the batch's time went, in milliseconds by step: `/status` shows them among the tick's phases.
    public var phasesMs: [String: Double]?

    public init(statuses: [String: InstanceStatus], orphans: [String]? = nil, observed: [String: DeployStatus]? = nil, resynced: Bool? = nil,
                strays: [String]? = nil, numberStock: NumberStock? = nil) {
        self.statuses = statuses
        self.orphans = orphans
        self.observed = observed
        self.resynced = resynced
        self.strays = strays
        self.numberStock = numberStock
    }
}

/// The reuse pool's numbers against `TELNYX_SPARE_NUMBERS`: the planner plans `stockNumbers`
/// while it holds fewer than wanted or orders of it are pending.
public struct NumberStock: Codable, Sendable, Equatable {
    public var wanted: Int
    public var available: Int
    /// Orders placed for the stock, not complete yet.
    public var ordering: Int
    public init(wanted: Int, available: Int, ordering: Int) {
        self.wanted = wanted
        self.available = available
        self.ordering = ordering
    }
    public var needsWork: Bool { ordering > 0 || available + ordering < wanted }
}

public struct InstanceStatus: Codable, Sendable, Equatable {
    /// The seed's four states; `healthy` means the runtime's `/pool/health` said ready.
    public var state: InstanceHealth
    public var setup: InstanceSetup
    /// Railway's status of the latest deployment; `MISSING` when the project is gone.
    public var deployStatus: DeployStatus?
    public var url: String?
    public var tools: [String: ToolStatus]
    /// Variables written for the runtime that it has not been handed yet.
    public var envPending: Bool
    /// Made before its variables were held to the contract, and not looked at since.
    public var variablesUnchecked: Bool?
    /// When the one deployment was committed: the stuck timeout counts from here.
    public var deployedAt: Date?
    /// The create waits for a provider's quota until then (`ProviderQuota`); nil when it does not.
    public var quotaWaitUntil: Date?
    public var lastError: String?
    /// What the runtime's `/pool/health` last said it runs (`version`, `runtime`).
    public var runtimeVersion: String?
    public var runtimeType: String?

    public init(state: InstanceHealth, setup: InstanceSetup, deployStatus: DeployStatus?, url: String?, tools: [String: ToolStatus], envPending: Bool) {
        self.state = state
        self.setup = setup
        self.deployStatus = deployStatus
        self.url = url
        self.tools = tools
        self.envPending = envPending
    }
}

public struct ToolStatus: Codable, Sendable, Equatable {
    public var state: ToolState
    public var resourceId: String?
    public var provisioning: Provisioning
    public var delivered: Bool
    public var config: [String: String]
    public var errorCode: ServicesErrorCode?
    public var error: String?
}

public struct Registry: Codable, Sendable, Equatable {
    public struct Tool: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var provisioning: [Provisioning]
        public var envKeys: [String]
        /// The `userConfig` keys a `provisioning: user` claim brings.
        public var userConfig: [String]
    }
    public var tools: [Tool]

    public static let all = Registry(tools: ToolName.allCases.map { tool in
        Tool(id: tool.rawValue, name: tool.displayName, provisioning: tool.provisioningModes, envKeys: tool.envKeys,
             userConfig: tool.userConfigKeys.map(\.name))
    })
}

/// Why the services layer refused or failed, with the HTTP status its API answers. The code
/// crosses the wire unchanged, so a remote caller acts on the same codes.
public struct ServicesError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var code: ServicesErrorCode
    public var message: String
    /// When the provider's quota lets the call be made again (`ProviderQuota`).
    public var retryAfter: Duration?
    public var description: String { message }

    public init(status: Int, code: ServicesErrorCode, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    package static func notFound(_ m: String) -> ServicesError { ServicesError(status: 404, code: .notFound, message: m) }
    package static func invalid(_ m: String) -> ServicesError { ServicesError(status: 400, code: .invalid, message: m) }
    package static func conflict(_ m: String) -> ServicesError { ServicesError(status: 409, code: .conflict, message: m) }

    package static func provider(_ e: ProviderError) -> ServicesError {
        switch e.kind {
        case .notConfigured: return ServicesError(status: 503, code: .providerNotConfigured, message: e.description)
        case .rateLimited, .paced:
            var error = ServicesError(status: 429, code: .providerQuota, message: e.description)
            error.retryAfter = e.retryAfter
            return error
        case .retryable, .breakerOpen: return ServicesError(status: 503, code: .providerUnavailable, message: e.description)
        case .limitExceeded: return ServicesError(status: 422, code: .providerLimitExceeded, message: e.description)
        case .unauthorized, .terminal, .conflict, .notFound: return ServicesError(status: 502, code: .providerError, message: e.description)
        }
    }

    /// A runtime call failed: not ready yet (503, or no answer) is worth waiting for; the rest is the runtime's error.
    package static func runtime(_ e: ProviderError) -> ServicesError {
        if e.status == 503 || e.kind == .retryable || e.kind == .breakerOpen {
            return ServicesError(status: 503, code: .runtimeNotReady, message: "runtime not ready: \(e.message)")
        }
        return ServicesError(status: 502, code: .runtimeError, message: "runtime: \(e.message)")
    }
}

/// Instance ids: lowercase letters and digits, 6 to 32 (the database holds the same rule).
package func validInstanceID(_ id: String) -> Bool {
    // Bytes, not Characters: the status batch checks every id of the fleet on each tick.
    (6...32).contains(id.utf8.count) && id.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) }
}

extension ServicesClient {
    /// An instance with no pool variables of its own.
    public func createInstance(_ instanceID: String, image: String?) async throws -> CreatedInstance {
        try await createInstance(instanceID, image: image, env: [:])
    }
}
