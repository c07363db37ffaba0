import Foundation
import Sync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One answer of the simulated cloud.
public struct SimResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    static func json(_ object: Any, status: Int = 200, headers: [(String, String)] = []) -> SimResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return SimResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: data)
    }
}

/// A live external resource, as the ledger lists it.
public struct LedgerEntry: Sendable, Codable, Equatable {
    public var provider: String
    public var kind: String
    public var id: String
    public var name: String
}

/// Something that happened in the cloud, in order: creates and deletes, for proving teardown order.
public struct SimEvent: Sendable, Codable, Equatable {
    public var seq: Int
    public var provider: String
    public var action: String
    public var kind: String
    public var id: String
    public var name: String
}

/// The simulated cloud's state: every provider's resources, in memory, behind one actor.
/// Each provider's fake is an extension in its own file, speaking that provider's wire format.
actor SimCloud {
    var options: SimulatorOptions
    var baseURL = ""
    var events: [SimEvent] = []
    var counter = 0

    // Railway
    struct Project { var id, name, environmentID, environmentName: String; var serviceIDs: [String] = []; var deleted = false }
    struct Service {
        var id, projectID, name: String
        var image: String?
        var startCommand: String?
        var memoryBytes: Int?
        var registryUsername: String?
        var variables: [String: String] = [:]
        var domain: String?
        var deployments: [Deployment] = []
    }
    /// One deployment: it reaches SUCCESS (or FAILED) `deployDelay` after it starts.
    struct Deployment { var id: String; var startedAt: ContinuousClock.Instant; var failed: Bool; var crashed = false }
    struct Volume { var id, projectID, serviceID, mountPath: String }
    var projects: [String: Project] = [:] { didSet { liveProjectIDs = nil } }
    /// The live projects' ids in listing order, made once per change of `projects`: sorting 50,000
    /// for each page of a listing made the simulator's listing a second a page.
    var liveProjectIDs: [String]?
    var services: [String: Service] = [:]
    var volumes: [String: Volume] = [:]
    /// Per token: the hour's window and its requests, the last project and volume creates.
    struct TokenUse { var windowStart: ContinuousClock.Instant; var used = 0; var lastProject: ContinuousClock.Instant?; var lastVolume: ContinuousClock.Instant? }
    var tokenUse: [String: TokenUse] = [:]
    /// Railway requests by operation, for the benchmarks (`GET /_sim/stats`).
    var railwayRequests: [String: Int] = [:]
    /// Notification rules: their webhook URLs get deployment events.
    struct Rule { var id, url: String; var eventTypes: [String] }
    var rules: [Rule] = []
    var webhooksSent = 0
    var webhooksLost = 0

    // GHCR
    var digests: [String: String] = [:]
    var railwayRateLimited = 0
    /// What each pushed digest runs: the version its `/pool/health` names, and how it misbehaves.
    var images: [String: SimImage] = [:]
    var registryTokens: Set<String> = []

    // OpenRouter
    struct Key { var hash, name: String; var limit: Double?; var disabled: Bool; var createdAt: Date; var updatedAt: Date?; var limitReset: String? = nil }
    var keys: [String: Key] = [:]

    // Telnyx
    struct Order { var id, phoneNumber, customerReference: String; var createdAt: ContinuousClock.Instant; var status: String; var messagingProfileID: String? = nil }
    struct Number { var id, phoneNumber, customerReference, status: String; var tags: [String]; var messagingProfileID: String? = nil }
    var orders: [String: Order] = [:]
    var numbers: [String: Number] = [:]
    /// Numbers ordered or owned: a search never offers them, an order of one collides (422).
    var takenNumbers: Set<String> = []
    var messagingProfiles: [String: String] = [:]
    /// Each profile's inbound webhook URL.
    var profileWebhooks: [String: String] = [:]

    // AgentMail
    struct Inbox { var id, clientID, displayName: String; var createdAt: Date }
    var inboxes: [String: Inbox] = [:]
    /// AgentMail's webhooks: id, url, client_id.
    var mailWebhooks: [(id: String, url: String, clientID: String?)] = []
    /// Messages by inbox, and texts sent and received (`SimMessages`).
    var mails: [String: [Mail]] = [:]
    var texts: [SMS] = []

    // Agent runtimes, by service id: what each was sent, and when it restarts.
    var runtimes: [String: RuntimeState] = [:]
    /// The next provisions that fail (a test's fault), and whether each leaves a conversation behind.
    var failingProvisions = 0
    var failingProvisionsDirty = false

    /// Posts webhook events; shared by the detached tasks of deployments.
    let webhooks = WebhookSender()

    init(options: SimulatorOptions) {
        self.options = options
        self.clock = options.clock
    }

    /// The latency a provider's calls get under the current options.
    func latency(_ provider: String) -> Duration { options.latency[provider] ?? .zero }
    /// Read off the actor: the clock is fixed at start.
    nonisolated let clock: any Clock

    /// Requests made to Railway, by operation, and webhooks sent and lost.
    func stats() -> SimStats {
        SimStats(railwayRequests: railwayRequests, railwayTotal: railwayRequests.values.reduce(0, +),
                 webhooksSent: webhooksSent, webhooksLost: webhooksLost, notificationRules: rules.count, railwayRateLimited: railwayRateLimited)
    }

    func setBaseURL(_ url: String) { baseURL = url }
    func setOptions(_ o: SimulatorOptions) { options = o }

    func nextID(_ prefix: String = "") -> String {
        counter += 1
        return prefix + String(format: "%08x", counter) + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    func uuid() -> String { UUID().uuidString.lowercased() }

    func record(_ provider: String, _ action: String, _ kind: String, id: String, name: String) {
        events.append(SimEvent(seq: events.count + 1, provider: provider, action: action, kind: kind, id: id, name: name))
    }

    /// Every live external resource.
    func ledger() -> [LedgerEntry] {
        var out: [LedgerEntry] = []
        for p in projects.values where !p.deleted { out.append(LedgerEntry(provider: "railway", kind: "project", id: p.id, name: p.name)) }
        for v in volumes.values {
            guard let p = projects[v.projectID], !p.deleted else { continue }
            out.append(LedgerEntry(provider: "railway", kind: "volume", id: v.id, name: p.name))
        }
        for k in keys.values { out.append(LedgerEntry(provider: "openrouter", kind: "key", id: k.hash, name: k.name)) }
        for n in numbers.values where n.status != "deleted" {
            out.append(LedgerEntry(provider: "telnyx", kind: "phone_number", id: n.id, name: n.customerReference))
        }
        for i in inboxes.values { out.append(LedgerEntry(provider: "agentmail", kind: "inbox", id: i.id, name: i.clientID)) }
        return out.sorted { ($0.provider, $0.name, $0.id) < ($1.provider, $1.name, $1.id) }
    }

    func ledgerResponse() -> SimResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        struct Body: Encodable { let resources: [LedgerEntry]; let deployments: [DeploymentCount]; let events: [SimEvent] }
        let data = (try? encoder.encode(Body(resources: ledger(), deployments: deploymentCounts(), events: events))) ?? Data()
        return SimResponse(status: 200, headers: [("Content-Type", "application/json")], body: data)
    }

    /// Deployments made per live service, for proving "one deploy per instance".
    func deploymentCounts() -> [DeploymentCount] {
        services.values.compactMap { s -> DeploymentCount? in
            guard let p = projects[s.projectID], !p.deleted else { return nil }
            return DeploymentCount(project: p.name, serviceId: s.id, deployments: s.deployments.count)
        }.sorted { ($0.project, $0.serviceId) < ($1.project, $1.serviceId) }
    }
}

/// What the simulated cloud was asked, for the benchmarks.
public struct SimStats: Sendable, Codable, Equatable {
    public var railwayRequests: [String: Int]
    public var railwayTotal: Int
    public var webhooksSent: Int
    public var webhooksLost: Int
    public var notificationRules: Int
    /// Railway requests answered 429 (a token's hourly quota used up).
    public var railwayRateLimited = 0
}

/// Sends webhook events by POST, as Railway's notification channel does; failures are dropped,
/// as a webhook that cannot be delivered is (the resync exists for that).
final class WebhookSender: Sendable {
    private let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 5
        return URLSession(configuration: c)
    }()

    /// Posts `body` with `headers`; the answer's status, 0 when there was none.
    @discardableResult
    func post(_ url: String, _ body: Data, headers: [String: String] = ["Content-Type": "application/json"]) async -> Int {
        guard let target = URL(string: url) else { return 0 }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let answer = try? await session.shieldedData(for: request)
        return (answer?.1 as? HTTPURLResponse)?.statusCode ?? 0
    }
}

/// A pushed image as the runtime behaves on it (issue 25's rollouts): its version, and whether
/// its container crashes at start or comes up without the conversation it had.
public struct SimImage: Sendable, Equatable {
    public var version: String
    public var crashes: Bool
    public var losesConversation: Bool
    public init(version: String = "sim-1", crashes: Bool = false, losesConversation: Bool = false) {
        self.version = version
        self.crashes = crashes
        self.losesConversation = losesConversation
    }
}

/// How many deployments one service has had.
public struct DeploymentCount: Sendable, Codable, Equatable {
    public var project: String
    public var serviceId: String
    public var deployments: Int
}

/// How the simulated cloud behaves when no fault is injected.
public struct SimulatorOptions: Sendable {
    /// The simulated cloud's time: its delays, timestamps and quota windows.
    public var clock: any Clock = SystemClock()
    /// Time from a deployment's start to SUCCESS.
    public var deployDelay: Duration = .seconds(1)
    /// Time from SUCCESS to the runtime's `/pool/health` saying ready.
    public var healthDelay: Duration = .milliseconds(500)
    /// Time the runtime's `/pool/provision` takes.
    public var provisionDelay: Duration = .milliseconds(100)
    /// Time the runtime's `/pool/restart-gateway` takes (not ready meanwhile).
    public var restartDelay: Duration = .milliseconds(300)
    /// The runtime an image runs when its tag does not say (`seed...` tags are the seed's, `today...`
    /// tags today's): `serve --simulate --runtime seed` runs the whole fleet on the seed's.
    public var runtime = RuntimeGeneration.today
    /// Time a hermes join waits for the conversation owner's approval before the runtime calls back.
    public var acceptanceDelay: Duration = .milliseconds(300)
    /// Runtimes serve the seed's "future" `/pool/update-template` and `/pool/clone-summary`; the
    /// real one does not (404), so neither does the simulator unless asked.
    public var runtimeExtensions = false
    /// Time for a Telnyx number order to complete.
    public var orderDelay: Duration = .milliseconds(200)
    /// Telnyx does not document copying an order's `customer_reference` onto its number. The
    /// simulator does by default (numbers read as their agent's in the ledger); the controller
    /// never relies on it, which a test proves with this off.
    public var telnyxCopiesReference = true
    /// AgentMail's plan limit on inboxes: over it, 403 `limit_exceeded`. Nil: none.
    public var agentMailInboxLimit: Int?
    /// Share of deployments that end FAILED instead of SUCCESS.
    public var deployFailRate = 0.0
    /// Latency of every call, per provider (`railway`, `ghcr`, `openrouter`, `telnyx`, `agentmail`, `bankr`).
    public var latency: [String: Duration] = [:]
    /// Railway's per-token creation limits: `projectCreate` once per this, `volumeCreate` once per
    /// that (a GraphQL error otherwise, as Railway answers). Zero: no limit.
    public var projectCreateInterval: Duration = .zero
    public var volumeCreateInterval: Duration = .zero
    /// Railway requests per token per hour (`X-RateLimit-*` headers on every answer, then 429 with
    /// `Retry-After` until the window resets). Nil: no quota.
    public var railwayHourlyQuota: Int?
    /// Share of webhook deliveries lost on the way (for proving the resync).
    public var webhookLossRate = 0.0
    public init() {}

    /// The profile the controller's figures are measured under (convos-system.md section 4):
    /// Railway calls 300 ms, deploys 25 s, runtimes ready 30 s later, provision 3 s, restart 8 s,
    /// one project per 30 s per token, 10,000 requests an hour per token, OpenRouter 400 ms,
    /// AgentMail 300 ms, Telnyx 500 ms with orders completing 3 s later, GHCR 200 ms.
    public static var realistic: SimulatorOptions {
        var o = SimulatorOptions()
        o.deployDelay = .seconds(25)
        o.healthDelay = .seconds(30)
        o.provisionDelay = .seconds(3)
        o.restartDelay = .seconds(8)
        o.acceptanceDelay = .seconds(10)
        o.orderDelay = .seconds(3)
        o.latency = ["railway": .milliseconds(300), "openrouter": .milliseconds(400), "agentmail": .milliseconds(300),
                     "telnyx": .milliseconds(500), "ghcr": .milliseconds(200), "bankr": .milliseconds(300)]
        o.projectCreateInterval = .seconds(30)
        o.volumeCreateInterval = .seconds(5)
        o.railwayHourlyQuota = 10_000
        return o
    }

    /// A profile by name: `fast` (the default, for tests) or `realistic`.
    public static func profile(_ name: String) -> SimulatorOptions? {
        switch name {
        case "fast": return SimulatorOptions()
        case "realistic": return .realistic
        default: return nil
        }
    }
}

/// Reads a JSON request body as a dictionary.
func jsonObject(_ data: Data) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

func iso(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
        .timeSeparator(.colon).timeZone(separator: .omitted))
}
