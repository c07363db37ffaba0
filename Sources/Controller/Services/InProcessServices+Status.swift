import Foundation
import Postgres
import Providers
import Resources

/// `POST /status/batch`: the whole fleet in one Railway query, one SQL query and a health ping of
/// each deployed runtime not seen ready lately (40 at a time), mapped to the seed's four states.
extension InProcessServices {
    public func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch {
        let ids = instanceIDs.filter(validInstanceID)
        let railway = providers.railway
        let projects = Dictionary(try await provider { () async throws(ProviderError) in try await railway.projects() }.map { ($0.name, $0) },
                                  uniquingKeysWith: { a, _ in a })
        let rows = try await db.query("""
            SELECT i.instance_id, i.state, i.url, i.runtime_key,
                   EXISTS (SELECT 1 FROM services.runtime_env e WHERE e.instance_id = i.instance_id AND e.delivered_at IS NULL) AS env_pending,
                   coalesce((SELECT jsonb_object_agg(t.tool, jsonb_strip_nulls(jsonb_build_object(
                       'state', t.state, 'resourceId', t.external_id, 'provisioning', t.provisioning, 'config', t.config,
                       'errorCode', t.error_code, 'error', t.last_error,
                       'delivered', NOT EXISTS (SELECT 1 FROM services.runtime_env e
                                                WHERE e.instance_id = t.instance_id AND e.source = t.tool AND e.delivered_at IS NULL))))
                             FROM services.tool_resources t WHERE t.instance_id = i.instance_id), '{}') AS tools
            FROM services.instances i WHERE i.instance_id = ANY($1::text[])
            """, [textArray(ids)])
        var statuses: [String: InstanceStatus] = [:]
        for id in ids {
            let project = projects[externalName(instanceID: id)]
            statuses[id] = InstanceStatus(state: .deploying, setup: .missing, deployStatus: project?.deploymentStatus, url: nil, tools: [:], envPending: false)
        }
        var probes: [(id: String, url: URL, key: String?)] = []
        var pending: [String] = []
        for row in rows.rows {
            let id: String = try row.decode("instance_id")
            let setup = Self.setup(try row.decode("state"))
            let project = projects[externalName(instanceID: id)]
            let deployStatus = setup == .created ? project?.deploymentStatus ?? "MISSING" : project?.deploymentStatus
            let tools = try JSONDecoder().decode([String: ToolStatus].self, from: try row.decode("tools", as: JSONText.self).data)
            let url: String? = try row.decode("url")
            var state = Self.health(setup: setup, deployStatus: deployStatus)
            if state == .unreachable, let url, let target = URL(string: url) {
                probes.append((id, target, try row.decode("runtime_key")))
            } else if state == .unreachable {
                state = .deploying
            }
            let envPending: Bool = try row.decode("env_pending")
            if envPending && setup == .created { pending.append(id) }
            statuses[id] = InstanceStatus(state: state, setup: setup, deployStatus: deployStatus, url: url, tools: tools, envPending: envPending)
        }
        // The steady fleet was ready lately: only the rest is pinged now.
        let fresh = await health.fresh(probes.map(\.id))
        let answers = await ping(probes.filter { !fresh.contains($0.id) })
        await health.record(answers)
        await health.retain(Set(ids))
        for id in fresh { statuses[id]?.state = .healthy }
        for (id, ready) in answers where ready { statuses[id]?.state = .healthy }
        // Variables a crash or a failed restart left undelivered: hand them over again.
        for id in pending where statuses[id]?.state == .healthy { await kickDelivery(id) }
        let known = Set(try await db.query("SELECT instance_id FROM services.instances WHERE state <> 'deleted'").rows
            .map { try $0.decode("instance_id", as: String.self) })
        let orphans = projects.keys.filter { $0.hasPrefix("convos-agent-") && !known.contains(String($0.dropFirst(13))) }.sorted()
        return StatusBatch(statuses: statuses, orphans: orphans)
    }

    /// `/pool/health` of each runtime, at most 40 at once; true where it said ready.
    private func ping(_ probes: [(id: String, url: URL, key: String?)]) async -> [String: Bool] {
        let runtime = providers.runtime
        return await withTaskGroup(of: (String, Bool).self) { group in
            var results: [String: Bool] = [:]
            var next = probes.makeIterator()
            func add() -> Bool {
                guard let probe = next.next() else { return false }
                group.addTask { (probe.id, await runtime.health(probe.url, key: probe.key)?.ready ?? false) }
                return true
            }
            for _ in 0..<40 where !add() { break }
            while let (id, ready) = await group.next() {
                results[id] = ready
                _ = add()
            }
            return results
        }
    }

    static func setup(_ state: String) -> InstanceSetup {
        switch state {
        case "creating": return .creating
        case "ready": return .created
        case "deleting": return .deleting
        default: return .deleted
        }
    }

    /// The seed's mapping: a deploy under way is `deploying`, a failed one `deploy_failed`; a
    /// successful one is `healthy` only once the runtime says ready (`unreachable` until then,
    /// decided by the ping).
    static func health(setup: InstanceSetup, deployStatus: String?) -> InstanceHealth {
        guard setup == .created else { return setup == .creating || setup == .missing ? .deploying : .deployFailed }
        switch deployStatus {
        case "SUCCESS", "SLEEPING": return .unreachable
        case "FAILED", "CRASHED", "REMOVED", "MISSING": return .deployFailed
        default: return .deploying
        }
    }
}
