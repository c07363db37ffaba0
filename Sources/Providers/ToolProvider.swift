import Resources

/// One per-agent tool resource, as a provider reports it.
public struct ToolObservation: Sendable, Equatable {
    public enum State: String, Sendable { case ready, pending }
    public var state: State
    /// The provider's id: key hash, inbox id, phone number id, Bankr key id.
    public var externalID: String
    /// What the agent's runtime gets as service variables. Values under `secretVariables` are
    /// secrets: handed to Railway, never stored, logged or shown.
    public var variables: [String: String]

    public init(state: State, externalID: String, variables: [String: String] = [:]) {
        self.state = state
        self.externalID = externalID
        self.variables = variables
    }
}

/// Settings of a tool from the template.
public struct ToolOptions: Sendable, Equatable {
    public var creditLimitUsd: Double?
    public var country: String
    public var displayName: String?
    public init(creditLimitUsd: Double? = nil, country: String = "US", displayName: String? = nil) {
        self.creditLimitUsd = creditLimitUsd
        self.country = country
        self.displayName = displayName
    }
}

/// A provider of one kind of per-agent resource, modelled on Crossplane's external client.
///
/// Every call is idempotent and keyed by `name`, which derives from the instance id
/// (`convos-agent-<id>`): `create` after a crash or a lost response finds what was made and adopts
/// it, `delete` of something already gone succeeds. Providers never sleep and retry themselves;
/// a create that the provider completes later answers `pending`, and the caller asks again.
public protocol ToolProvider: Sendable {
    var tool: ToolName { get }
    var stats: ProviderStats { get }
    var breaker: CircuitBreaker { get }
    func observe(name: String) async throws(ProviderError) -> ToolObservation?
    func create(name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation
    func update(name: String, externalID: String, options: ToolOptions) async throws(ProviderError)
    func delete(name: String, externalID: String?) async throws(ProviderError)
}

/// Secret variable names; everything else a tool hands the agent is not secret.
public let secretVariables: Set<String> = ["OPENROUTER_API_KEY", "BANKR_API_KEY"]

/// The external name of everything that belongs to one instance.
public func externalName(instanceID: String) -> String { "convos-agent-\(instanceID)" }

/// Builds a URL under a base, keeping the base's path: `base/v2/keys`.
func url(_ base: URL, _ path: String, _ query: [(String, String)] = []) -> URL {
    var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
    components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
    if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
    return components.url!
}

import Foundation
