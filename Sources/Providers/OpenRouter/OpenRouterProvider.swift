import Foundation
import Resources

/// Per-agent OpenRouter API keys through the management (provisioning) key API.
///
/// Keys are named from the instance id. The plaintext key comes back only from the create; a key
/// found by name later has no secret, so the caller deletes and recreates it when it lacks one.
public final class OpenRouterProvider: ToolProvider {
    public let tool = ToolName.openrouter
    let http: ProviderHTTPClient
    let base: URL
    let key: String?

    public init(base: URL, provisioningKey: String?, http: ProviderHTTPClient = ProviderHTTPClient(provider: "openrouter")) {
        self.base = base
        self.key = provisioningKey
        self.http = http
    }

    public var stats: ProviderStats { http.stats }
    public var breaker: CircuitBreaker { http.breaker }

    public func observe(name: String) async throws(ProviderError) -> ToolObservation? {
        var offset = 0
        while true {
            let page = try await send("GET", "/keys", query: [("offset", String(offset)), ("include_disabled", "true")], idempotent: true, operation: "keys.list")
            let keys = page["data"]?.arrayValue ?? []
            if let match = keys.first(where: { $0["name"]?.stringValue == name }), let hash = match["hash"]?.stringValue {
                return ToolObservation(state: .ready, externalID: hash)
            }
            if keys.count < 100 { return nil }
            offset += keys.count
        }
    }

    public func create(name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation {
        var body: [String: JSONValue] = ["name": .string(name)]
        body["limit"] = options.creditLimitUsd.map(JSONValue.double) ?? .null
        let response = try await send("POST", "/keys", body: .object(body), idempotent: false, operation: "keys.create")
        guard let hash = response["data"]?["hash"]?.stringValue, let secret = response["key"]?.stringValue else {
            throw ProviderError(.terminal, provider: "openrouter", message: "create response has no key")
        }
        return ToolObservation(state: .ready, externalID: hash, variables: ["OPENROUTER_API_KEY": secret])
    }

    public func update(name: String, externalID: String, options: ToolOptions) async throws(ProviderError) {
        _ = try await send("PATCH", "/keys/\(externalID)", body: .object(["limit": options.creditLimitUsd.map(JSONValue.double) ?? .null]),
                           idempotent: true, operation: "keys.update")
    }

    public func delete(name: String, externalID: String?) async throws(ProviderError) {
        var found = externalID
        if found == nil { found = try await observe(name: name)?.externalID }
        guard let hash = found else { return }
        do {
            _ = try await send("DELETE", "/keys/\(hash)", idempotent: true, operation: "keys.delete")
        } catch where error.kind == .notFound {
            return
        }
    }

    private func send(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                      idempotent: Bool, operation: String) async throws(ProviderError) -> JSONValue {
        guard let key else { throw ProviderError(.notConfigured, provider: "openrouter", message: "OPENROUTER_PROVISIONING_KEY is not set") }
        let response = try await http.send(.init(method: method, url: url(base, path, query), headers: ["Authorization": "Bearer \(key)"],
                                                  body: body?.canonicalData(), idempotent: idempotent, operation: operation))
        return JSONValue(jsonBody: response.body) ?? .null
    }
}
