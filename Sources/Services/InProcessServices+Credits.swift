import Foundation
import Postgres
import Providers
import Resources

/// What a runtime's self-service asks of the services (CONTRACT.md section 8): its own secret, to
/// check its credentials; its own OpenRouter key's credits; a raise of that key's limit within a
/// policy, counted per day. Called by `RuntimeAPI` only, for the instance the credentials named.
extension InProcessServices {
    /// The instance's one runtime secret (`GATEWAY_TOKEN`), nil when there is no such live instance.
    public func runtimeSecret(_ instanceID: String) async throws -> String? {
        guard validInstanceID(instanceID) else { return nil }
        return try await db.query("SELECT runtime_key FROM services.instances WHERE instance_id = $1 AND state IN ('creating', 'ready')",
                                  [instanceID]).first?.decode("runtime_key")
    }

    /// The limit, usage and reset of the instance's own key, read from OpenRouter (a key without a
    /// limit reads as the default limit, as today's pool answers).
    public func credits(_ instanceID: String) async throws -> KeyCredits {
        let hash = try await openRouterHash(instanceID)
        var credits = try await provider { () async throws(ProviderError) in try await providers.openRouter.credits(hash: hash) }
        if credits.limit == nil { credits.limit = settings.openRouterKeyLimit }
        return credits
    }

    /// What a raise of the key's limit came to.
    public enum LimitRaise: Sendable, Equatable {
        case raised(previous: Double, new: Double)
        /// The limit is at the policy's maximum already (or a coupon's).
        case atCap(limit: Double, max: Double)
        /// `perDay` raises of this source in the last 24 hours; the next is allowed after the wait.
        case tooOften(retryAfter: Duration)
    }

    /// Raises the key's limit by `increment`, to at most `max`: the cap first, then the day's count
    /// (`perDay` raises of `source` in 24 hours). One raise at a time per instance, so two at once
    /// never both read the old limit. Each raise is recorded (`services.credit_grants`), and the
    /// key's config says `toppedUp`: the template's limit does not take it back.
    public func raiseLimit(_ instanceID: String, source: String, coupon: String? = nil, increment: Double, max: Double,
                           perDay: Int?) async throws -> LimitRaise {
        let hash = try await openRouterHash(instanceID)
        return try await handoff.exclusive("credits:" + instanceID) { () async throws -> LimitRaise in
            let current = try await provider { () async throws(ProviderError) in try await providers.openRouter.credits(hash: hash) }
            let previous = current.limit ?? settings.openRouterKeyLimit
            if previous >= max { return .atCap(limit: previous, max: max) }
            if let perDay {
                let row = try await db.query("""
                    SELECT count(*)::int AS n, extract(epoch FROM min(at) + interval '1 day' - now())::float8 AS wait FROM services.credit_grants
                    WHERE instance_id = $1 AND source = $2 AND at > now() - interval '1 day'
                    """, [instanceID, source]).first!
                if try row.decode("n", as: Int.self) >= perDay {
                    let wait = try row.decode("wait", as: Double?.self) ?? 60
                    return .tooOften(retryAfter: .seconds(Swift.max(1, Int64(wait.rounded(.up)))))
                }
            }
            let new = Swift.min(previous + increment, max)
            try ServicesDB.checkFence()
            try await provider { () async throws(ProviderError) in try await providers.openRouter.setLimit(hash: hash, limitUsd: new) }
            _ = try await db.query("""
                WITH grant_row AS (
                    INSERT INTO services.credit_grants (instance_id, source, coupon, previous_limit, new_limit) VALUES ($1, $2, $3, $4, $5)
                )
                UPDATE services.tool_resources SET config = config || jsonb_build_object('limitUsd', $6::text, 'toppedUp', 'true'), updated_at = now()
                WHERE instance_id = $1 AND tool = 'openrouter'
                """, [instanceID, source, coupon, previous, new, OpenRouterSettings.format(new)])
            return .raised(previous: previous, new: new)
        }
    }

    /// The hash of the instance's own OpenRouter key.
    private func openRouterHash(_ instanceID: String) async throws -> String {
        guard let hash: String = try await db.query("""
            SELECT external_id FROM services.tool_resources WHERE instance_id = $1 AND tool = 'openrouter' AND state = 'ready' AND external_id IS NOT NULL
            """, [instanceID]).first?.decode("external_id") else {
            throw ServicesError.notFound("instance \(instanceID) has no OpenRouter key")
        }
        return hash
    }
}
