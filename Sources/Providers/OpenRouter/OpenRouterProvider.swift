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
    /// False without a provisioning key: no key can be made.
    public var isConfigured: Bool { key != nil }
    public var breaker: CircuitBreaker { http.breaker }
    public var quota: QuotaGate { http.quota }

    public func observe(name: String) async throws(ProviderError) -> ToolObservation? {
        var offset = 0
        while true {
            let page = try await send("GET", "/keys", query: [("offset", String(offset)), ("include_disabled", "true")], idempotent: true, operation: "keys.list")
            let keys = page["data"]?.arrayValue ?? []
            if let match = keys.first(where: { $0["name"]?.stringValue == name }), let hash = match["hash"]?.stringValue {
                return ToolObservation(state: .ready, externalID: hash, config: Self.config(match))
            }
            if keys.count < 100 { return nil }
            offset += keys.count
        }
    }

    /// Every key's hash, disabled ones included (a disabled key still exists: it is not lost).
    public func inventory() async throws(ProviderError) -> Set<String> {
        Set(try await keys().map(\.hash))
    }

    /// Every key's name and hash, disabled ones included: one listing, a page per 100.
    public func keys() async throws(ProviderError) -> [(name: String, hash: String)] {
        var all: [(name: String, hash: String)] = [], offset = 0
        while true {
            let page = try await send("GET", "/keys", query: [("offset", String(offset)), ("include_disabled", "true")], idempotent: true, operation: "keys.list")
            let keys = page["data"]?.arrayValue ?? []
            for key in keys { if let hash = key["hash"]?.stringValue { all.append((key["name"]?.stringValue ?? "", hash)) } }
            if keys.count < 100 { return all }
            offset += keys.count
        }
    }

    public func create(name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation {
        var body = Self.limits(options)
        body["name"] = .string(name)
        let response = try await send("POST", "/keys", body: .object(body), idempotent: false, operation: "keys.create")
        guard let data = response["data"], let hash = data["hash"]?.stringValue, let secret = response["key"]?.stringValue else {
            throw ProviderError(.terminal, provider: "openrouter", message: "create response has no key")
        }
        return ToolObservation(state: .ready, externalID: hash, variables: ["OPENROUTER_API_KEY": secret], config: Self.config(data))
    }

    /// The key's limit and reset period are what `options` asks for (unset options ask for nothing).
    public func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool {
        OpenRouterSettings.matches(OpenRouterSettings(limitUsd: options.limitUsd,
                                                      limitReset: options.limitReset.flatMap(OpenRouterSettings.LimitReset.init(rawValue:))),
                                   observed.config)
    }

    /// `PATCH /keys/{hash}` with the limit and its reset period.
    public func update(name: String, externalID: String, options: ToolOptions) async throws(ProviderError) {
        _ = try await send("PATCH", "/keys/\(externalID)", body: .object(Self.limits(options)), idempotent: true, operation: "keys.update")
    }

    /// One key's spend: `GET /keys/{hash}`'s `limit`, `usage` and `limit_reset`.
    public func credits(hash: String) async throws(ProviderError) -> KeyCredits {
        let data = try await send("GET", "/keys/\(hash)", idempotent: true, operation: "keys.get")["data"] ?? .null
        func number(_ value: JSONValue?) -> Double? {
            switch value {
            case .double(let d)?: return d
            case .int(let i)?: return Double(i)
            default: return nil
            }
        }
        return KeyCredits(limit: number(data["limit"]), usage: number(data["usage"]) ?? 0, limitReset: data["limit_reset"]?.stringValue)
    }

    /// `PATCH /keys/{hash}` with a new limit only (its reset period kept).
    public func setLimit(hash: String, limitUsd: Double) async throws(ProviderError) {
        _ = try await send("PATCH", "/keys/\(hash)", body: .object(["limit": .double(limitUsd)]), idempotent: true, operation: "keys.update")
    }

    static func limits(_ options: ToolOptions) -> [String: JSONValue] {
        ["limit": options.limitUsd.map(JSONValue.double) ?? .null, "limit_reset": options.limitReset.map(JSONValue.string) ?? .null]
    }

    /// The key's settings as the planner compares them: `limitUsd`, `limitReset`.
    static func config(_ key: JSONValue) -> [String: String] {
        var config: [String: String] = [:]
        switch key["limit"] {
        case .double(let d)?: config["limitUsd"] = OpenRouterSettings.format(d)
        case .int(let i)?: config["limitUsd"] = String(i)
        default: break
        }
        if let reset = key["limit_reset"]?.stringValue { config["limitReset"] = reset }
        return config
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

    public func isGone(name: String, externalID: String?) async throws(ProviderError) -> Bool {
        guard let hash = externalID else { return try await observe(name: name) == nil }
        do {
            _ = try await send("GET", "/keys/\(hash)", idempotent: true, operation: "keys.get")
            return false
        } catch where error.kind == .notFound {
            return true
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

/// What an OpenRouter key may spend and has spent, in US dollars.
public struct KeyCredits: Sendable, Equatable {
    /// Nil: no limit.
    public var limit: Double?
    public var usage: Double
    public var limitReset: String?
}
