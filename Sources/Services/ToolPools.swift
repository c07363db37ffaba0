import Foundation
import Postgres
import Providers
import Resources
import Store

/// Telnyx numbers behind our reuse pool (`services.phone_numbers`, `InProcessServices+Telnyx.swift`):
/// a number comes from the pool first, else is searched and ordered; at teardown it goes back to the
/// pool or is released (`TELNYX_RELEASE`).
package struct NumberPool: ToolResource {
    package let services: InProcessServices
    package var tool: ToolName { .sms }

    package func create(_ target: ToolTarget, options: ToolOptions) async throws -> ToolObservation {
        try await services.phoneNumber(target.instanceID, name: target.name, options: options, repeated: target.repeated)
    }

    package func delete(_ target: ToolTarget, externalID: String?) async throws {
        try await services.giveBackNumber(target.instanceID, name: target.name)
    }

    /// Gone once no number is the instance's: back in the pool (no longer its), or released.
    package func isGone(_ target: ToolTarget, externalID: String?) async throws -> Bool {
        try await services.db.query("SELECT 1 FROM services.phone_numbers WHERE instance_id = $1", [target.instanceID]).isEmpty
    }

    /// The numbers our pool records as agents'. Telnyx's own listing is not read: a number released
    /// behind our back is not looked for yet.
    package func inventory() async throws -> Set<String> {
        Set(try await services.db.query("SELECT phone_number FROM services.phone_numbers WHERE state = 'assigned'").rows
            .map { try $0.decode("phone_number", as: String.self) })
    }
}

/// Bankr keys from the pool `BANKR_KEYS` fills (`services.bankr_keys`): each verified when handed
/// out, retired at teardown and never given to another agent.
package struct KeyPool: ToolResource {
    package let services: InProcessServices
    package var tool: ToolName { .crypto }

    /// The instance's key (the same one again if it already holds one).
    package func create(_ target: ToolTarget, options: ToolOptions) async throws -> ToolObservation {
        let rows = try await services.db.query("""
            UPDATE services.bankr_keys SET state = 'assigned', instance_id = $1, updated_at = now()
            WHERE id = coalesce(
                (SELECT id FROM services.bankr_keys WHERE instance_id = $1 AND state = 'assigned'),
                (SELECT id FROM services.bankr_keys WHERE state = 'available' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1))
            RETURNING id, api_key
            """, [target.instanceID])
        guard let row = rows.first else {
            throw ServicesError(status: 503, code: .bankrPoolEmpty, message: "no Bankr key available: add keys to BANKR_KEYS")
        }
        let key: String = try row.decode("api_key"), bankr = services.providers.bankr
        _ = try await ProviderTool.call { () async throws(ProviderError) in try await bankr.verify(key: key) }
        return ToolObservation(state: .ready, externalID: "bankr-key-\(try row.decode("id", as: Int.self))", variables: ["BANKR_API_KEY": key])
    }

    package func delete(_ target: ToolTarget, externalID: String?) async throws {
        _ = try await services.db.query("UPDATE services.bankr_keys SET state = 'retired', updated_at = now() WHERE instance_id = $1 AND state = 'assigned'",
                                        [target.instanceID])
    }

    package func isGone(_ target: ToolTarget, externalID: String?) async throws -> Bool {
        try await services.db.query("SELECT 1 FROM services.bankr_keys WHERE instance_id = $1 AND state = 'assigned'", [target.instanceID]).isEmpty
    }

    /// The keys handed out: they live in our pool, so none is deleted behind our back.
    package func inventory() async throws -> Set<String> {
        Set(try await services.db.query("SELECT id FROM services.bankr_keys WHERE state = 'assigned'").rows
            .map { "bankr-key-\(try $0.decode("id", as: Int.self))" })
    }
}

extension InProcessServices {
    /// Every tool's resource, one seam for all: what provisioning, teardown and the audit drive.
    package var tools: [ToolName: any ToolResource] {
        [.openrouter: OpenRouterKeys(provider: providers.openRouter, defaultLimit: settings.openRouterKeyLimit,
                                     defaultReset: settings.openRouterKeyLimitReset),
         .email: ProviderTool(providers.agentMail),
         .sms: NumberPool(services: self),
         .crypto: KeyPool(services: self)]
    }
}
