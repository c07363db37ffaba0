import Foundation
import Resources

/// Per-agent AgentMail inboxes. `client_id` is AgentMail's idempotency key: a create with a
/// `client_id` that exists returns the existing inbox, so creates are safe to retry.
public final class AgentMailProvider: ToolProvider {
    public let tool = ToolName.email
    let http: ProviderHTTPClient
    let base: URL
    let key: String?
    /// `AGENTMAIL_DOMAIN`: the inboxes' domain; AgentMail's default when nil.
    let domain: String?

    public init(base: URL, apiKey: String?, domain: String? = nil, http: ProviderHTTPClient = ProviderHTTPClient(provider: "agentmail")) {
        self.base = base
        self.key = apiKey
        self.domain = domain
        self.http = http
    }

    public var stats: ProviderStats { http.stats }
    public var isConfigured: Bool { key != nil }
    public var breaker: CircuitBreaker { http.breaker }
    public var quota: QuotaGate { http.quota }

    public func observe(name: String) async throws(ProviderError) -> ToolObservation? {
        var pageToken: String?
        repeat {
            var query = [("limit", "100")]
            if let pageToken { query.append(("page_token", pageToken)) }
            let page = try await send("GET", "/v0/inboxes", query: query, operation: "inboxes.list")
            if let inbox = page["inboxes"]?.arrayValue?.first(where: { $0["client_id"]?.stringValue == name }) {
                return Self.observation(inbox)
            }
            pageToken = page["next_page_token"]?.stringValue
        } while pageToken != nil
        return nil
    }

    /// Every inbox's id.
    public func inventory() async throws(ProviderError) -> Set<String> {
        var ids: Set<String> = [], pageToken: String?
        repeat {
            var query = [("limit", "100")]
            if let pageToken { query.append(("page_token", pageToken)) }
            let page = try await send("GET", "/v0/inboxes", query: query, operation: "inboxes.list")
            for inbox in page["inboxes"]?.arrayValue ?? [] { if let id = inbox["inbox_id"]?.stringValue { ids.insert(id) } }
            pageToken = page["next_page_token"]?.stringValue
        } while pageToken != nil
        return ids
    }

    public func create(name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation {
        var body: [String: JSONValue] = ["username": .string(name), "client_id": .string(name),
                                         "display_name": options.displayName.map(JSONValue.string) ?? .string(name)]
        if let domain { body["domain"] = .string(domain) }
        do {
            return Self.observation(try await send("POST", "/v0/inboxes", body: .object(body), operation: "inboxes.create"))
        } catch where error.status == 403 && error.message.lowercased().contains("limit exceeded") {
            // The plan's inbox limit, not our credentials: a condition to show, not a call to repeat.
            throw ProviderError(.limitExceeded, provider: "agentmail", message: error.message, status: 403)
        }
    }

    public func update(name: String, externalID: String, options: ToolOptions) async throws(ProviderError) {
        _ = try await send("PATCH", "/v0/inboxes/\(externalID)",
                           body: .object(["display_name": options.displayName.map(JSONValue.string) ?? .string(name)]), operation: "inboxes.update")
    }

    public func delete(name: String, externalID: String?) async throws(ProviderError) {
        var found = externalID
        if found == nil { found = try await observe(name: name)?.externalID }
        guard let id = found else { return }
        do {
            _ = try await send("DELETE", "/v0/inboxes/\(id)", operation: "inboxes.delete")
        } catch where error.kind == .notFound {
            return
        }
    }

    public func isGone(name: String, externalID: String?) async throws(ProviderError) -> Bool {
        guard let id = externalID else { return try await observe(name: name) == nil }
        do {
            _ = try await send("GET", "/v0/inboxes/\(id)", operation: "inboxes.get")
            return false
        } catch where error.kind == .notFound {
            return true
        }
    }

    static func observation(_ inbox: JSONValue) -> ToolObservation {
        let id = inbox["inbox_id"]?.stringValue ?? ""
        return ToolObservation(state: .ready, externalID: id, variables: ["AGENTMAIL_INBOX_ID": id])
    }

    private func send(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                      operation: String) async throws(ProviderError) -> JSONValue {
        guard let key else { throw ProviderError(.notConfigured, provider: "agentmail", message: "AGENTMAIL_API_KEY is not set") }
        // Every call is idempotent: reads, deletes, and creates keyed by client_id.
        let response = try await http.send(.init(method: method, url: url(base, path, query), headers: ["Authorization": "Bearer \(key)"],
                                                  body: body?.canonicalData(), idempotent: true, operation: operation))
        return JSONValue(jsonBody: response.body) ?? .null
    }
}
