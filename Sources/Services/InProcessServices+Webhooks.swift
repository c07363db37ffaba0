import Foundation
import Postgres
import Providers
import Resources

/// Railway's deployment events (`POST /webhooks/railway/SECRET`) and the notification rule that
/// sends them. An event is a hint, never trusted alone: it names the instance the next status
/// batch looks at, and wakes the reconciler.
extension InProcessServices {
    /// The secret in the webhook's path: `RAILWAY_WEBHOOK_SECRET`, or one made once and kept in
    /// the database, so every replica accepts the same URL.
    public func webhookSecret(configured: String?) async throws -> String {
        if let configured { return configured }
        _ = try await db.query("""
            INSERT INTO services.settings (name, value) VALUES ('railway_webhook_secret', $1) ON CONFLICT (name) DO NOTHING
            """, [RuntimeSecrets.randomHex(24)])
        return try await db.query("SELECT value FROM services.settings WHERE name = 'railway_webhook_secret'").first!.decode("value")
    }

    /// Registers the rule that posts to `url`, found first so it is never made twice; one replica
    /// at a time (an advisory lock), so two starting together cannot both make one.
    public func ensureNotificationRule(url: String) async throws -> Bool {
        let railway = providers.railway
        return try await db.transaction { c in
            _ = try await c.query("SELECT pg_advisory_xact_lock(hashtext('convos_railway_notification_rule'))")
            do {
                return try await railway.ensureNotificationRule(url: url).created
            } catch let error as ProviderError {
                throw ServicesError.provider(error)
            }
        }
    }

    /// One event: the instance whose service it names is looked at again. Unknown services (not
    /// ours, or already gone) are ignored. Returns whether it named one of ours.
    public func railwayEvent(serviceID: String) async throws -> Bool {
        guard let id: String = try await db.query("SELECT instance_id FROM services.instances WHERE railway_service_id = $1",
                                                  [serviceID]).first?.decode("instance_id") else { return false }
        await observer.hint(id)
        return true
    }

    /// What `/status` shows of the observing.
    package func observeReport() async -> RailwayObserver.Report { await observer.report }
}
