import Foundation
import Providers
import Resources

/// One kind of tool resource an instance holds, wherever it is kept: at its provider (OpenRouter
/// keys, AgentMail inboxes) or in a pool of ours in front of one (Telnyx numbers, Bankr keys).
/// Crossplane's external client: each call acts once and is idempotent (a create finds what an
/// earlier attempt made, a delete tolerates "already gone"); the decision tree is the tool
/// reconciler's (`InProcessServices.provision`, `removeTool`, `auditTools`), the same for every tool.
package protocol ToolResource: Sendable {
    var tool: ToolName { get }
    /// Whether `observed` (as last recorded) already has `options` in force; pure, no call made.
    func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool
    /// Makes the resource, or adopts the one an earlier attempt made under the target's name.
    func create(_ target: ToolTarget, options: ToolOptions) async throws -> ToolObservation
    /// Brings `observed` to `options`; returns it as it now is.
    func update(_ target: ToolTarget, _ observed: ToolObservation, options: ToolOptions) async throws -> ToolObservation
    /// Removes the resource, found by id when known, else by the target's name.
    func delete(_ target: ToolTarget, externalID: String?) async throws
    /// Looked at again after a delete: true once nothing of the target's is left.
    func isGone(_ target: ToolTarget, externalID: String?) async throws -> Bool
    /// Every id the resource's home holds, for the resync to find ours deleted behind our back.
    func inventory() async throws -> Set<String>
    /// The ids of resources that carry the name of an instance in `recorded` (instance id to the
    /// recorded resource's id) but are not that one: a deposed leader's create answered late.
    func strays(recorded: [String: String]) async throws -> [(instance: String, id: String)]
}

extension ToolResource {
    /// Resources with nothing to change after creation (an inbox, a number, a key) are always up to date.
    package func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool { true }
    package func update(_ target: ToolTarget, _ observed: ToolObservation, options: ToolOptions) async throws -> ToolObservation { observed }
    /// Kinds whose creates are idempotent by name, or kept in our own pools, have none.
    package func strays(recorded: [String: String]) async throws -> [(instance: String, id: String)] { [] }
}

/// Whose resource a call is about.
package struct ToolTarget: Sendable {
    package let instanceID: String
    /// True when an earlier attempt may have made the resource without recording it (the intent
    /// row existed already): only then does a create look for it first (a listing costs pages).
    package let repeated: Bool

    package init(instanceID: String, repeated: Bool = true) {
        self.instanceID = instanceID
        self.repeated = repeated
    }

    /// The external name of everything that belongs to the instance.
    package var name: String { externalName(instanceID: instanceID) }
}

/// A tool kept at its provider alone (AgentMail's inboxes): the provider client is the resource.
/// Its create finds what an earlier attempt made (AgentMail by `client_id`), so none looks first.
package struct ProviderTool: ToolResource {
    package let provider: any ToolProvider
    package var tool: ToolName { provider.tool }

    package init(_ provider: any ToolProvider) { self.provider = provider }

    package func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool { provider.isUpToDate(observed, with: options) }

    package func create(_ target: ToolTarget, options: ToolOptions) async throws -> ToolObservation {
        try await Self.call { () async throws(ProviderError) in try await provider.create(name: target.name, options: options) }
    }

    package func update(_ target: ToolTarget, _ observed: ToolObservation, options: ToolOptions) async throws -> ToolObservation {
        try await Self.call { () async throws(ProviderError) in
            try await provider.update(name: target.name, externalID: observed.externalID, options: options)
        }
        return observed
    }

    package func delete(_ target: ToolTarget, externalID: String?) async throws {
        try await Self.call { () async throws(ProviderError) in try await provider.delete(name: target.name, externalID: externalID) }
    }

    package func isGone(_ target: ToolTarget, externalID: String?) async throws -> Bool {
        try await Self.call { () async throws(ProviderError) in try await provider.isGone(name: target.name, externalID: externalID) }
    }

    package func inventory() async throws -> Set<String> {
        try await Self.call { () async throws(ProviderError) in try await provider.inventory() }
    }

    /// A provider's failure as the services API reports it.
    package static func call<T: Sendable>(_ body: () async throws(ProviderError) -> T) async throws -> T {
        do { return try await body() } catch { throw ServicesError.provider(error) }
    }
}

/// An instance's OpenRouter key: its limit is the template's (or `OPENROUTER_KEY_LIMIT`), kept up
/// to date with `PATCH /keys/{hash}`. A key's secret is shown once, at its create: a key found by
/// name whose secret was lost (a crash, a lost answer) is deleted and made again.
package struct OpenRouterKeys: ToolResource {
    package let provider: OpenRouterProvider
    package let defaultLimit: Double?
    package let defaultReset: String?
    package var tool: ToolName { .openrouter }

    /// The options with the deployment's defaults where the template says nothing.
    package func wanted(_ options: ToolOptions) -> ToolOptions {
        ToolOptions(limitUsd: options.limitUsd ?? defaultLimit, limitReset: options.limitReset ?? defaultReset)
    }

    package func isUpToDate(_ observed: ToolObservation, with options: ToolOptions) -> Bool {
        provider.isUpToDate(observed, with: wanted(options))
    }

    package func create(_ target: ToolTarget, options: ToolOptions) async throws -> ToolObservation {
        guard provider.isConfigured else {
            throw ServicesError(status: 503, code: .providerNotConfigured, message: "openrouter: OPENROUTER_PROVISIONING_KEY is not set")
        }
        let name = target.name, provider = self.provider, options = wanted(options)
        // Only a repeat looks for a key an earlier attempt made (listing every key costs a page per 100).
        if target.repeated {
            try await ProviderTool.call { () async throws(ProviderError) in
                if let stray = try await provider.observe(name: name) { try await provider.delete(name: name, externalID: stray.externalID) }
            }
        }
        // A key is not idempotent: a leader frozen before this call must not make one when it wakes.
        try ServicesDB.checkFence()
        let made = try await ProviderTool.call { () async throws(ProviderError) in try await provider.create(name: name, options: options) }
        guard made.variables["OPENROUTER_API_KEY"] != nil else {
            throw ServicesError.provider(ProviderError(.terminal, provider: "openrouter", message: "create answered no key"))
        }
        return made
    }

    package func update(_ target: ToolTarget, _ observed: ToolObservation, options: ToolOptions) async throws -> ToolObservation {
        let wanted = wanted(options), provider = self.provider
        try await ProviderTool.call { () async throws(ProviderError) in
            try await provider.update(name: target.name, externalID: observed.externalID, options: wanted)
        }
        let settings = OpenRouterSettings(limitUsd: wanted.limitUsd, limitReset: OpenRouterSettings.LimitReset(rawValue: wanted.limitReset ?? ""))
        return ToolObservation(state: .ready, externalID: observed.externalID, config: observed.config.merging(settings.wireConfig) { _, new in new })
    }

    package func delete(_ target: ToolTarget, externalID: String?) async throws {
        try await ProviderTool(provider).delete(target, externalID: externalID)
    }

    package func isGone(_ target: ToolTarget, externalID: String?) async throws -> Bool {
        try await ProviderTool(provider).isGone(target, externalID: externalID)
    }

    package func inventory() async throws -> Set<String> { try await ProviderTool(provider).inventory() }

    package func strays(recorded: [String: String]) async throws -> [(instance: String, id: String)] {
        let provider = self.provider
        let keys = try await ProviderTool.call { () async throws(ProviderError) in try await provider.keys() }
        return keys.compactMap { key in
            guard key.name.hasPrefix("convos-agent-") else { return nil }
            let instance = String(key.name.dropFirst("convos-agent-".count))
            // Not the instance's recorded key: a stray, or (no key recorded) one the caller decides on.
            guard recorded[instance] != key.hash else { return nil }
            return (instance, key.hash)
        }
    }
}
