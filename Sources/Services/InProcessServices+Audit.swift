import Foundation
import Postgres
import Providers
import Resources
import Store

/// Tools deleted behind our back at their providers (an OpenRouter key revoked, an AgentMail inbox
/// deleted) are found at each Railway resync: one listing per provider, then each one missing from
/// it confirmed by id. A lost tool goes back to `creating` without its id, so the planner provisions
/// it again and the hand-over gives its new variables to the running agent.
extension InProcessServices {
    /// Started by a planned `auditTools` after a resync, in the background (`ToolAudit`).
    package func runAudit() async {
        for (tool, resource) in tools.sorted(by: { $0.key < $1.key }) {
            if Task.isCancelled { return }
            guard let rows = try? await db.query("""
                SELECT t.instance_id, t.external_id FROM services.tool_resources t JOIN services.instances i USING (instance_id)
                WHERE t.tool = $1 AND t.state = 'ready' AND t.provisioning <> 'user' AND i.state = 'ready'
                """, [tool.rawValue]).rows else { continue }
            // Read before the listing: whatever was ready then and is not listed was deleted.
            let held = rows.compactMap { row -> (instance: String, id: String)? in
                guard let instance = try? row.decode("instance_id", as: String.self), let id = try? row.decode("external_id", as: String.self) else { return nil }
                return (instance, id)
            }
            // A second resource of an instance's name (a deposed leader's create answered late) goes;
            // so does one of an instance already torn down (that create landed after its teardown).
            // An instance without a recorded one may be making it now: left alone.
            let recorded = Dictionary(held.map { ($0.instance, $0.id) }, uniquingKeysWith: { a, _ in a })
            let candidates = (try? await resource.strays(recorded: recorded)) ?? []
            let unrecorded = Array(Set(candidates.map(\.instance).filter { recorded[$0] == nil }))
            let deleted = unrecorded.isEmpty ? [] : Set((try? await db.query(
                "SELECT instance_id FROM services.instances WHERE instance_id = ANY($1::text[]) AND state = 'deleted'", [textArray(unrecorded)]).rows
                .compactMap { try? $0.decode("instance_id", as: String.self) }) ?? [])
            for stray in candidates where recorded[stray.instance] != nil || deleted.contains(stray.instance) {
                _ = try? await resource.delete(ToolTarget(instanceID: stray.instance), externalID: stray.id)
            }
            guard !held.isEmpty else { continue }
            let live: Set<String>
            do { live = try await resource.inventory() } catch { continue }
            for (instance, id) in held where !live.contains(id) {
                if Task.isCancelled { return }
                // A listing paged while others change can skip one: only a lookup by id says gone.
                guard (try? await resource.isGone(ToolTarget(instanceID: instance), externalID: id)) == true else { continue }
                _ = try? await db.query("""
                    UPDATE services.tool_resources SET state = 'creating', external_id = NULL, config = '{}', error_code = NULL,
                        last_error = 'deleted at the provider; made again', updated_at = now()
                    WHERE instance_id = $1 AND tool = $2 AND external_id = $3 AND state = 'ready'
                    """, [instance, tool.rawValue, id])
            }
        }
        await giveBackLateNumbers()
    }

    /// A number ordered under an instance's name after its teardown (a deposed leader's order that
    /// left just before it froze and landed late) is held by no row: found by the order's
    /// reference for instances torn down within the hour, and given back as any other.
    private func giveBackLateNumbers() async {
        guard providers.telnyx.isConfigured, let rows = try? await db.query("""
            SELECT DISTINCT t.instance_id FROM services.tool_resources t JOIN services.instances i USING (instance_id)
            WHERE t.tool = 'sms' AND t.provisioning = 'pool' AND i.state = 'deleted' AND i.updated_at > now() - interval '1 hour'
            """).rows else { return }
        for row in rows {
            if Task.isCancelled { return }
            guard let id = try? row.decode("instance_id", as: String.self) else { continue }
            try? await giveBackUnrecorded(id, name: externalName(instanceID: id))
        }
    }
}
