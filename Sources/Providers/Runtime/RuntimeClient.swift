import Foundation
import Resources

/// What a runtime's `GET /pool/health` said.
public struct RuntimeHealth: Sendable, Equatable {
    public var ready: Bool
    public var version: String?
    public init(ready: Bool, version: String? = nil) { self.ready = ready; self.version = version }
}

/// What a runtime's `POST /pool/provision` answered: the agent's conversation.
public struct RuntimeConversation: Codable, Sendable, Equatable {
    public var conversationId: String
    public var inviteUrl: String?
    public var joined: Bool
    public init(conversationId: String, inviteUrl: String?, joined: Bool) {
        self.conversationId = conversationId
        self.inviteUrl = inviteUrl
        self.joined = joined
    }
}

/// The agent runtime's pool protocol (CONTRACT.md section 6), as every instance serves it. Every
/// call carries that runtime's own key (`POOL_API_KEY`); the controller's tokens never go here.
/// Called by the services layer only: it holds the keys.
public final class RuntimeClient: Sendable {
    /// Provision may take a minute (the runtime retries its conversation call 30 times), a
    /// restart as long as the agent takes to come back. Every instance is a server of its own, so
    /// the limit on calls in flight is wide: it bounds this process, not one runtime.
    let http: ProviderHTTPClient
    /// Health pings: short, and at most 40 at once (the seed's figure).
    let probe: ProviderHTTPClient

    public init(http: ProviderHTTPClient = ProviderHTTPClient(provider: "runtime", maxInFlight: 256, requestTimeout: .seconds(150)),
                probe: ProviderHTTPClient = ProviderHTTPClient(provider: "runtime", maxInFlight: 40, requestTimeout: .seconds(5))) {
        self.http = http
        self.probe = probe
    }

    public var stats: ProviderStats { http.stats }

    /// `GET /pool/health`; nil when the runtime does not answer, or answers something else.
    public func health(_ base: URL, key: String?) async -> RuntimeHealth? {
        guard let response = try? await probe.send(.init(method: "GET", url: url(base, "/pool/health"), headers: headers(key),
                                                         idempotent: false, operation: "health")),
              let body = JSONValue(jsonBody: response.body), case .bool(let ready)? = body["ready"] else { return nil }
        return RuntimeHealth(ready: ready, version: body["version"]?.stringValue)
    }

    /// `POST /pool/provision`: creates the agent's conversation (or joins `joinUrl`). Not safe to
    /// repeat: each call may make a conversation, so the client never retries it by itself.
    public func provision(_ base: URL, key: String?, agentName: String, instructions: String,
                          joinUrl: String?) async throws(ProviderError) -> RuntimeConversation {
        var body: [String: JSONValue] = ["agentName": .string(agentName), "instructions": .string(instructions)]
        if let joinUrl { body["joinUrl"] = .string(joinUrl) }
        let response = try await http.send(.init(method: "POST", url: url(base, "/pool/provision"), headers: headers(key),
                                                  body: JSONValue.object(body).canonicalData(), idempotent: false, operation: "provision"))
        let answer = JSONValue(jsonBody: response.body)
        guard let conversation = answer?["conversationId"]?.stringValue, !conversation.isEmpty else {
            throw ProviderError(.terminal, provider: "runtime", message: "provision answered without a conversationId")
        }
        return RuntimeConversation(conversationId: conversation, inviteUrl: answer?["inviteUrl"]?.stringValue ?? joinUrl,
                                   joined: answer?["joined"] == .bool(true))
    }

    /// `POST /pool/restart-gateway`: the agent process restarts in place with `env` added; no
    /// container redeploy. Repeating it is harmless (the same variables again).
    public func restartGateway(_ base: URL, key: String?, env: [String: String]) async throws(ProviderError) {
        _ = try await http.send(.init(method: "POST", url: url(base, "/pool/restart-gateway"), headers: headers(key),
                                      body: JSONValue.object(["env": .object(env.mapValues(JSONValue.string))]).canonicalData(),
                                      idempotent: true, operation: "restart-gateway"))
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
