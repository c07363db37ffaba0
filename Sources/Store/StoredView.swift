import Foundation
import Postgres
import Resources

/// The planner's input from what is stored alone, with no call to Railway, the runtimes or any
/// provider: for `apply?dryRun=true`, inside its transaction. Health is what the last tick
/// recorded, tools what the services schema holds (nothing when services run elsewhere), and a
/// pool's digest that of its newest instance (a dry run resolves no tag).
package enum StoredView {
    package static func input(_ query: (String, [any PostgresEncodable]) async throws -> PostgresRows, now: Date,
                      settings: PlannerSettings) async throws -> PlannerInput {
        let stored = try await StoredState.stored(query, digests: [:], failureWindow: settings.failureWindow)
        var tools: [String: [ToolName: ToolView]] = [:]
        for row in try await query("""
            SELECT instance_id, tool, state, external_id, config, error_code FROM services.tool_resources WHERE state <> 'deleted'
            """, []).rows {
            guard let tool = ToolName(rawValue: try row.decode("tool")), let state = ToolState(rawValue: try row.decode("state")) else { continue }
            let config = (try? JSONDecoder().decode([String: String].self, from: try row.decode("config", as: JSONText.self).data)) ?? [:]
            tools[try row.decode("instance_id"), default: [:]][tool] = ToolView(
                state: state, config: config, errorCode: (try row.decode("error_code", as: String?.self)).flatMap(ServicesErrorCode.init(rawValue:)),
                resourceId: try row.decode("external_id"))
        }
        var instances: [InstanceView] = []
        var newest: [String: (Date, String)] = [:]
        for (stored, recorded) in stored.instances {
            var view = stored
            let health = recorded.flatMap { InstanceHealth(rawValue: $0.health) }
                ?? (view.state == .idle || view.state == .claimed ? .healthy : .deploying)
            view.setup = view.state == .provisioning ? .creating : .created
            view.health = health
            view.deployStatus = health == .deployFailed ? .failed : .success
            view.tools = tools[view.id] ?? [:]
            // A dry run never waits for a stuck timer: instances starting are taken as just deployed.
            view.deployedAt = now
            instances.append(view)
            if let digest = view.digest, view.createdAt > newest[view.pool]?.0 ?? .distantPast { newest[view.pool] = (view.createdAt, digest) }
        }
        var pools = stored.pools
        for i in pools.indices { pools[i].digest = newest[pools[i].name]?.1 ?? "sha256:unresolved-in-a-dry-run" }
        var planner = settings
        // What the reconciler would make over its next ticks, not the slow start of one.
        planner.createBudget = Dictionary(pools.map { ($0.name, Int.max) }, uniquingKeysWith: { a, _ in a })
        return PlannerInput(now: now, pools: pools, templates: stored.templates, agents: stored.agents, instances: instances, settings: planner)
    }
}
