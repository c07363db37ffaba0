import Foundation
import Resources

/// What a runtime's `GET /pool/health` said: ready or not, and which runtime and version it is.
public struct RuntimeHealth: Sendable, Equatable {
    public var ready: Bool
    public var version: String?
    /// `openclaw` or `hermes` (today's images say; seed-era ones may not).
    public var runtime: String?
    public init(ready: Bool, version: String? = nil, runtime: String? = nil) {
        self.ready = ready
        self.version = version
        self.runtime = runtime
    }
}

/// How a runtime's `/pool/provision` ended: a conversation made or joined, or a join that waits for
/// the conversation owner's approval (hermes; the runtime calls the pool back when it is decided).
public enum ProvisionStatus: String, Codable, Sendable {
    case created, joined
    case pendingAcceptance = "pending_acceptance"
}

/// What a runtime's `POST /pool/provision` answered: the agent's conversation.
public struct RuntimeConversation: Codable, Sendable, Equatable {
    /// Nil only while a join waits for acceptance.
    public var conversationId: String?
    public var inviteUrl: String?
    public var joined: Bool
    public var status: ProvisionStatus
    /// The answer named its `status`: today's runtime (seed-era ones never do). Today's runtime takes
    /// its model from OpenRouter presets, not from `OPENCLAW_PRIMARY_MODEL`, so no restart hands it one.
    public var todaysRuntime: Bool
    public init(conversationId: String?, inviteUrl: String?, joined: Bool, status: ProvisionStatus? = nil) {
        self.conversationId = conversationId
        self.inviteUrl = inviteUrl
        self.joined = joined
        self.status = status ?? (joined ? .joined : .created)
        self.todaysRuntime = status != nil
    }
}

/// What a runtime's `GET /convos/status` says of its conversation (today's images; seed-era ones
/// have no such route).
public struct RuntimeConversationState: Codable, Sendable, Equatable {
    public var conversationId: String?
    public var pending: Bool
    /// True when the runtime holds no conversation and may be handed to another agent.
    public var clean: Bool?
    /// The runtime's XMTP identity.
    public var inboxId: String?
    public init(conversationId: String?, pending: Bool = false, clean: Bool?, inboxId: String? = nil) {
        self.conversationId = conversationId
        self.pending = pending
        self.clean = clean
        self.inboxId = inboxId
    }
}

/// The agent runtime's pool protocol (CONTRACT.md section 6), as every instance serves it, for
/// both generations: today's image (April 2026: `GATEWAY_TOKEN`, health without auth, `/pool/restart`,
/// `/convos/*`) and the seed's (`POOL_API_KEY`, `/pool/restart-gateway`). Which one answers is told
/// by what it answers, never by a flag: both take the instance's one secret as their bearer.
/// Every call carries that runtime's own secret; the controller's tokens never go here, and a 401
/// is never retried with another credential (production's pool sends its admin key then).
/// Called by the services layer only: it holds the secrets.
public final class RuntimeClient: Sendable {
    /// Provision may take a minute (the runtime retries its conversation call 30 times), a
    /// restart as long as the agent takes to come back. Every instance is a server of its own, so
    /// the limit on calls in flight is wide: it bounds this process, not one runtime.
    let http: ProviderHTTPClient
    /// Health pings: short, and at most 40 at once (the seed's figure).
    let probe: ProviderHTTPClient
    /// Production's pool allows `/pool/provision` 75 s.
    public static let provisionTimeout: Duration = .seconds(75)

    public init(http: ProviderHTTPClient = ProviderHTTPClient(provider: "runtime", maxInFlight: 256, requestTimeout: .seconds(150)),
                probe: ProviderHTTPClient = ProviderHTTPClient(provider: "runtime", maxInFlight: 40, requestTimeout: .seconds(5))) {
        self.http = http
        self.probe = probe
    }

    public var stats: ProviderStats { http.stats }

    /// `GET /pool/health`; nil when the runtime does not answer, or answers something else. Asked
    /// without a credential (today's runtime needs none here); a seed-era runtime answers 401, and
    /// is asked again with its own secret.
    public func health(_ base: URL, key: String?) async -> RuntimeHealth? {
        let result: Result<ProviderHTTPClient.Response, ProviderError>
        do {
            result = .success(try await probe.send(.init(method: "GET", url: url(base, "/pool/health"), headers: headers(nil),
                                                         idempotent: false, operation: "health", passthrough: [503])))
        } catch { result = .failure(error) }
        var answer: ProviderHTTPClient.Response?
        switch result {
        case .success(let response): answer = response
        case .failure(let error) where error.kind == .unauthorized && key != nil:
            answer = try? await probe.send(.init(method: "GET", url: url(base, "/pool/health"), headers: headers(key),
                                                 idempotent: false, operation: "health", passthrough: [503]))
        case .failure: answer = nil
        }
        guard let answer, let body = JSONValue(jsonBody: answer.body), case .bool(let ready)? = body["ready"] else { return nil }
        return RuntimeHealth(ready: ready && answer.status == 200, version: body["version"]?.stringValue, runtime: body["runtime"]?.stringValue)
    }

    /// `POST /pool/provision`: creates the agent's conversation (or joins `joinUrl`), within 75 s.
    /// Not safe to repeat: each call may make a conversation, so the client never retries it.
    public func provision(_ base: URL, key: String?, agentName: String, instructions: String,
                          joinUrl: String?) async throws(ProviderError) -> RuntimeConversation {
        var body: [String: JSONValue] = ["agentName": .string(agentName), "instructions": .string(instructions)]
        if let joinUrl { body["joinUrl"] = .string(joinUrl) }
        var request = ProviderHTTPClient.Request(method: "POST", url: url(base, "/pool/provision"), headers: headers(key),
                                                 body: JSONValue.object(body).canonicalData(), idempotent: false, operation: "provision")
        request.timeout = Self.provisionTimeout
        let response = try await http.send(request)
        let answer = JSONValue(jsonBody: response.body)
        let status = answer?["status"]?.stringValue.flatMap(ProvisionStatus.init(rawValue:))
        let conversation = answer?["conversationId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        guard conversation != nil || status == .pendingAcceptance else {
            throw ProviderError(.terminal, provider: "runtime", message: "provision answered without a conversationId")
        }
        return RuntimeConversation(conversationId: conversation, inviteUrl: answer?["inviteUrl"]?.stringValue ?? joinUrl,
                                   joined: answer?["joined"] == .bool(true), status: status)
    }

    /// `POST /pool/restart` (today's images; `/pool/restart-gateway` where that is what the
    /// runtime serves): the agent process restarts in place with `env` added; no container
    /// redeploy. Repeating it is harmless (the same variables again).
    public func restart(_ base: URL, key: String?, env: [String: String]) async throws(ProviderError) {
        let body = JSONValue.object(["env": .object(env.mapValues(JSONValue.string))]).canonicalData()
        do {
            _ = try await http.send(.init(method: "POST", url: url(base, "/pool/restart"), headers: headers(key), body: body,
                                          idempotent: true, operation: "restart"))
        } catch where error.kind == .notFound {
            _ = try await http.send(.init(method: "POST", url: url(base, "/pool/restart-gateway"), headers: headers(key), body: body,
                                          idempotent: true, operation: "restart-gateway"))
        }
    }

    /// `GET /convos/status`; nil when the runtime has no such route (seed-era images).
    public func conversationState(_ base: URL, key: String?) async throws(ProviderError) -> RuntimeConversationState? {
        let response: ProviderHTTPClient.Response
        do {
            response = try await probe.send(.init(method: "GET", url: url(base, "/convos/status"), headers: headers(key),
                                                  idempotent: true, operation: "convos-status"))
        } catch where error.kind == .notFound {
            return nil
        }
        guard let body = JSONValue(jsonBody: response.body) else {
            throw ProviderError(.terminal, provider: "runtime", message: "/convos/status answered no JSON")
        }
        let conversation = body["conversationId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        var clean: Bool?
        if case .bool(let value)? = body["clean"] { clean = value }
        return RuntimeConversationState(conversationId: conversation, pending: body["pending"] == .bool(true), clean: clean,
                                        inboxId: body["inboxId"]?.stringValue)
    }

    /// `POST /convos/reset`: the runtime drops its conversation (after a failed provision).
    public func reset(_ base: URL, key: String?) async throws(ProviderError) {
        var request = ProviderHTTPClient.Request(method: "POST", url: url(base, "/convos/reset"), headers: headers(key),
                                                 body: Data("{}".utf8), idempotent: true, operation: "convos-reset")
        request.timeout = .seconds(15)
        _ = try await http.send(request)
    }

    /// `POST /convos/update-metadata` `{"metadata": {...}}`: the agent's profile names its email or phone.
    public func updateMetadata(_ base: URL, key: String?, _ metadata: [String: String]) async throws(ProviderError) {
        var request = ProviderHTTPClient.Request(method: "POST", url: url(base, "/convos/update-metadata"), headers: headers(key),
                                                 body: JSONValue.object(["metadata": .object(metadata.mapValues(JSONValue.string))]).canonicalData(),
                                                 idempotent: true, operation: "update-metadata")
        request.timeout = .seconds(10)
        _ = try await http.send(request)
    }

    /// `POST /convos/notify` `{"text"}`: an inbound email or text for the agent.
    public func notify(_ base: URL, key: String?, text: String) async throws(ProviderError) {
        var request = ProviderHTTPClient.Request(method: "POST", url: url(base, "/convos/notify"), headers: headers(key),
                                                 body: JSONValue.object(["text": .string(text)]).canonicalData(), idempotent: false, operation: "notify")
        request.timeout = .seconds(30)
        _ = try await http.send(request)
    }

    /// The seed's "future" endpoints (`update-template`, `clone-summary`). False when the runtime
    /// answers 404: it does not have them, and asking again will not help.
    public func post(_ base: URL, key: String?, _ endpoint: String, body: JSONValue) async throws(ProviderError) -> Bool {
        do {
            _ = try await http.send(.init(method: "POST", url: url(base, "/pool/\(endpoint)"), headers: headers(key),
                                          body: body.canonicalData(), idempotent: true, operation: endpoint))
            return true
        } catch where error.kind == .notFound {
            return false
        }
    }

    private func headers(_ key: String?) -> [String: String] {
        var headers = ["Content-Type": "application/json"]
        if let key { headers["Authorization"] = "Bearer \(key)" }
        return headers
    }
}
