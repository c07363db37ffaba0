import Foundation
import Postgres
import Providers
import Resources

/// Inbound email and SMS (CONTRACT.md section 8): a verified webhook (`RuntimeAPI`) is matched to
/// the instance that owns the inbox or number and kept as an outbox row; `deliverInbound` hands due
/// rows to their runtimes' `/convos/notify`, each claimed by one replica for a while (so a crash
/// mid-call lets another try again), retried with backoff while the runtime is down.
extension InProcessServices {
    /// The instance whose pool tool is this inbox (`email`) or number (`sms`).
    public func instanceOwning(_ tool: ToolName, _ resource: String) async throws -> String? {
        try await db.query("""
            SELECT instance_id FROM services.tool_resources WHERE tool = $1 AND external_id = $2 AND state = 'ready' AND provisioning = 'pool'
            """, [tool.rawValue, resource]).first?.decode("instance_id")
    }

    /// Keeps one inbound event for its runtime; false when the provider sent this event before.
    @discardableResult
    public func enqueueInbound(provider: String, eventID: String, instanceID: String, text: String) async throws -> Bool {
        !(try await db.query("""
            INSERT INTO services.inbound_events (provider, event_id, instance_id, text) VALUES ($1, $2, $3, $4)
            ON CONFLICT (provider, event_id) DO NOTHING RETURNING id
            """, [provider, eventID, instanceID, text]).rows.isEmpty)
    }

    /// Delivers the due events (20 at a time); returns how many reached their runtime. Each is
    /// claimed for 35 s (the notify's 30 s and a margin): a replica killed mid-call leaves it to
    /// another then. A runtime that does not take one gets it again after 1, 2, 4 ... 60 s; an
    /// instance gone drops it.
    @discardableResult
    public func deliverInbound() async -> Int {
        guard let rows = try? await db.query("""
            UPDATE services.inbound_events SET attempts = attempts + 1, next_attempt_at = now() + interval '35 seconds'
            WHERE id IN (SELECT id FROM services.inbound_events WHERE delivered_at IS NULL AND next_attempt_at <= now()
                         ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 20)
            RETURNING id, instance_id, text, attempts
            """).rows else { return 0 }
        var delivered = 0
        for row in rows {
            guard let id: Int = try? row.decode("id"), let instance: String = try? row.decode("instance_id"),
                  let text: String = try? row.decode("text"), let attempts: Int = try? row.decode("attempts") else { continue }
            let failure: String?
            do {
                let target = try await runtimeTarget(instance)
                try await providers.runtime.notify(target.url, key: target.key, text: text)
                failure = nil
            } catch let gone as ServicesError where gone.code == .notFound {
                _ = try? await db.query("UPDATE services.inbound_events SET delivered_at = now(), last_error = 'instance gone' WHERE id = $1", [id])
                continue
            } catch {
                failure = "\(error)"
            }
            if let failure {
                let wait = min(60, 1 << min(attempts - 1, 6))
                _ = try? await db.query("""
                    UPDATE services.inbound_events SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1
                    """, [id, Double(wait), String(failure.prefix(300))])
            } else {
                _ = try? await db.query("UPDATE services.inbound_events SET delivered_at = now(), last_error = NULL WHERE id = $1", [id])
                delivered += 1
            }
        }
        return delivered
    }
}

extension InProcessServices {
    /// AgentMail's webhook and the Telnyx messaging profile's webhook URL point at `base`'s
    /// `/webhooks/agentmail` and `/webhooks/telnyx`, each found first and made at most once. Returns
    /// AgentMail's signing secret for the webhook (to verify its deliveries when
    /// `AGENTMAIL_WEBHOOK_SECRET` is not set) and what was made now. A provider not configured is skipped.
    public func ensureInboundWebhooks(base: String) async throws -> (agentMailSecret: String?, created: [String]) {
        var created: [String] = []
        var secret: String?
        if providers.agentMail.isConfigured {
            let mail = providers.agentMail
            let found = try await provider { () async throws(ProviderError) in try await mail.ensureWebhook(url: base + "/webhooks/agentmail") }
            secret = found.secret
            if found.created { created.append("agentmail") }
        }
        if providers.telnyx.isConfigured {
            let profile = try await messagingProfile()
            let telnyx = providers.telnyx
            if try await provider({ () async throws(ProviderError) in try await telnyx.ensureWebhook(profileID: profile, url: base + "/webhooks/telnyx") }) {
                created.append("telnyx")
            }
        }
        return (secret, created)
    }
}
