import Resources

/// One per-agent tool resource, as a provider reports it.
public struct ToolObservation: Sendable, Equatable {
    public enum State: String, Sendable { case ready, pending }
    public var state: State
    /// The provider's id: key hash, inbox id, phone number id, Bankr key id.
    public var externalID: String
    /// What the agent's runtime gets as variables. Secrets among them: handed to Railway and the
    /// runtime, kept in the services schema only, never logged or shown.
    public var variables: [String: String]
    /// Settings in force at the provider (an OpenRouter key's `limitUsd`); never a secret.
    public var config: [String: String]

    public init(state: State, externalID: String, variables: [String: String] = [:], config: [String: String] = [:]) {
        self.state = state
        self.externalID = externalID
        self.variables = variables
        self.config = config
    }
}

/// Settings of a tool, from the template (or the controller's defaults).
public struct ToolOptions: Sendable, Equatable, Codable {
    /// OpenRouter: the key's limit in US dollars and its reset period.
    public var limitUsd: Double?
    public var limitReset: String?
    /// Telnyx: where the number is bought.
    public var country: String?
    /// AgentMail: the inbox's display name.
    public var displayName: String?
    public init(limitUsd: Double? = nil, limitReset: String? = nil, country: String? = nil, displayName: String? = nil) {
        self.limitUsd = limitUsd
        self.limitReset = limitReset
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
    /// Whether an observed resource already has `options` in force (Crossplane's
    /// `ResourceUpToDate`): when false, `update` brings it there. Pure; no call is made.
    func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool
    func create(name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation
    func update(name: String, externalID: String, options: ToolOptions) async throws(ProviderError)
    func delete(name: String, externalID: String?) async throws(ProviderError)
    /// Whether the resource is gone, looked at again after a delete: by its id when known (one
    /// call), else by name.
    func isGone(name: String, externalID: String?) async throws(ProviderError) -> Bool
    /// The ids of every resource of this kind the account holds, for the resync to find ours that
    /// were deleted behind our back. One listing, paged.
    func inventory() async throws(ProviderError) -> Set<String>
}

extension ToolProvider {
    /// Providers whose resources have no settings to change (an inbox, a number) are always up to date.
    public func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool { true }
}

/// The external name of everything that belongs to one instance.
public func externalName(instanceID: String) -> String { "convos-agent-\(instanceID)" }

/// Builds a URL under a base, keeping the base's path: `base/v2/keys`.
func url(_ base: URL, _ path: String, _ query: [(String, String)] = []) -> URL {
    var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
    components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
    if !query.isEmpty {
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // URLComponents leaves `+` as is, and servers read it as a space: `+1970...` must be `%2B1970...`.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
    }
    return components.url!
}

import Foundation
