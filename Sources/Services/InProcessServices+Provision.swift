import Foundation
import Postgres
import Providers
import Resources
import Store

/// `POST /provision/INSTANCE/TOOL`: one tool for a running agent. The resource is made (the
/// runtime reaches a pool tool through the services proxy, and is told its address with
/// `/convos/update-metadata`), or, for a `provisioning: user` tool, the claim's credentials taken
/// and recorded as pending variables; the hand-over (`InProcessServices+Runtime.swift`) stores them on the Railway service
/// with `skipDeploys` (a redeploy would restart the agent and cost 25 s) and gives them to the
/// running agent with `/pool/restart-gateway`, in the background: tools that finish together share
/// one Railway call and one restart. The status batch says when they were delivered.
extension InProcessServices {
    public func provision(_ instanceID: String, tool: ToolName, _ request: ProvisionRequest) async throws -> ProvisionResult {
        _ = try await project(instanceID)
        let name = externalName(instanceID: instanceID)
        if request.provisioning == .user || request.userConfig != nil {
            _ = try await db.query("""
                INSERT INTO services.tool_resources (instance_id, tool, idempotency_name, provisioning) VALUES ($1, $2, $3, 'user')
                ON CONFLICT (instance_id, tool) DO UPDATE SET provisioning = 'user', updated_at = now()
                """, [instanceID, tool.rawValue, "\(name)/\(tool.rawValue)"])
            do {
                return try await provisionUser(instanceID, tool, try await userValues(request, tool))
            } catch let error as ServicesError {
                try? await recordError(instanceID, tool, code: error.code, message: error.message)
                throw error
            }
        }
        guard let resource = tools[tool] else { throw ServicesError.invalid("no provider for \(tool.rawValue)") }
        let options = request.options ?? ToolOptions()
        // The intent row, committed before any external create. A tool released earlier (removed
        // from the template, or lost at its provider) starts again as new.
        let row = try await db.query("""
            WITH old AS (SELECT state FROM services.tool_resources WHERE instance_id = $1 AND tool = $2)
            INSERT INTO services.tool_resources (instance_id, tool, idempotency_name) VALUES ($1, $2, $3)
            ON CONFLICT (instance_id, tool) DO UPDATE SET updated_at = now(),
                state = CASE WHEN tool_resources.state = 'deleted' THEN 'creating' ELSE tool_resources.state END,
                external_id = CASE WHEN tool_resources.state = 'deleted' THEN NULL ELSE tool_resources.external_id END
            RETURNING state, external_id, config, (xmax = 0 OR (SELECT state FROM old) = 'deleted') AS inserted
            """, [instanceID, tool.rawValue, "\(name)/\(tool.rawValue)"]).first!
        let state: ToolState = try row.decode("state")
        let target = ToolTarget(instanceID: instanceID, repeated: !(try row.decode("inserted", as: Bool.self)))
        do {
            // Observe (as last recorded) -> up to date, or update; nothing yet -> create. The same
            // tree for every tool.
            if state == .ready, let id: String = try row.decode("external_id") {
                let observed = ToolObservation(state: .ready, externalID: id, config: try Self.config(row))
                if resource.isUpToDate(observed, with: options) {
                    await kickDelivery(instanceID)
                    return ProvisionResult(resourceId: id, config: observed.config, state: .ready)
                }
                try ServicesDB.checkFence()
                let updated = try await resource.update(target, observed, options: options)
                try await recordTool(instanceID, tool, externalID: updated.externalID, state: .ready, config: updated.config)
                return ProvisionResult(resourceId: updated.externalID, config: updated.config, state: .ready)
            }
            guard state == .creating else { throw ServicesError.conflict("\(tool.rawValue) of \(instanceID) is \(state.rawValue)") }
            try ServicesDB.checkFence()
            let made = try await resource.create(target, options: options)
            if made.state == .pending {
                try await recordTool(instanceID, tool, externalID: made.externalID, state: .creating, config: made.config)
                return ProvisionResult(resourceId: made.externalID, config: made.config, state: .pending)
            }
            // Pool tools reach the runtime through the services proxy: no variable, no restart (CONTRACT
            // section 6). Only the instance's own OpenRouter key is a variable, made again after a loss.
            try await recordTool(instanceID, tool, externalID: made.externalID, state: .ready, config: made.config,
                                 env: tool == .openrouter ? made.variables : [:])
            await kickDelivery(instanceID)
            await tellMetadata(instanceID, tool, made.externalID)
            return ProvisionResult(resourceId: made.externalID, config: made.config, state: .ready)
        } catch let error as ServicesError {
            try? await recordError(instanceID, tool, code: error.code, message: error.message)
            throw error
        } catch let error as ProviderError {
            let failure = ServicesError.provider(error)
            try? await recordError(instanceID, tool, code: failure.code, message: failure.message)
            throw failure
        }
    }

    /// The credentials a `provisioning: user` tool brings: given in the request, or stored by the
    /// claim under the agent's name.
    private func userValues(_ request: ProvisionRequest, _ tool: ToolName) async throws -> [String: String] {
        if let given = request.userConfig { return given }
        if let agent = request.agent, let stored = try await db.query("SELECT config FROM services.user_configs WHERE agent = $1", [agent]).first {
            return try JSONDecoder().decode([String: String].self, from: try stored.decode("config", as: JSONText.self).data)
        }
        throw ServicesError(status: 400, code: .userConfigMissing,
                            message: "\(tool.rawValue) is provisioning: user, and no userConfig was given for it")
    }

    private func provisionUser(_ id: String, _ tool: ToolName, _ values: [String: String]) async throws -> ProvisionResult {
        if let missing = tool.userConfigKeys.first(where: { $0.required && (values[$0.name] ?? "").isEmpty }) {
            throw ServicesError(status: 400, code: .userConfigMissing, message: "userConfig.\(missing.name) is required for \(tool.rawValue)")
        }
        let env = UserConfig.env(values, for: tool)
        try await recordTool(id, tool, externalID: "user", state: .ready, config: [:], env: env)
        await kickDelivery(id)
        return ProvisionResult(resourceId: "user", config: [:], state: .ready)
    }

    /// Records a tool's state, and its variables as pending for the runtime (a value that did not
    /// change keeps its delivery).
    package func recordTool(_ id: String, _ tool: ToolName, externalID: String?, state: ToolState, config: [String: String],
                    env: [String: String] = [:]) async throws {
        try await db.transaction { c in
            _ = try await c.query("""
                UPDATE services.tool_resources SET external_id = coalesce($3, external_id), state = $4, config = $5::jsonb,
                    error_code = NULL, last_error = NULL, updated_at = now()
                WHERE instance_id = $1 AND tool = $2
                """, [id, tool.rawValue, externalID, state.rawValue, JSONValue.object(config.mapValues(JSONValue.string)).jsonText])
            guard !env.isEmpty else { return }
            let names = env.keys.sorted()
            _ = try await c.query("""
                INSERT INTO services.runtime_env (instance_id, name, value, source)
                SELECT $1, n, v, $4 FROM unnest($2::text[], $3::text[]) AS u(n, v)
                ON CONFLICT (instance_id, name) DO UPDATE SET value = excluded.value, source = excluded.source, updated_at = now(),
                    delivered_at = CASE WHEN runtime_env.value = excluded.value THEN runtime_env.delivered_at END
                """, [id, textArray(names), textArray(names.map { env[$0]! }), tool.rawValue])
        }
    }

    /// Records why `tool` failed. A failed tool no longer holds the hand-over of the others, so one
    /// that was held while this tool was being made starts now, not at the next status batch.
    private func recordError(_ id: String, _ tool: ToolName, code: ServicesErrorCode, message: String) async throws {
        _ = try await db.query("""
            UPDATE services.tool_resources SET error_code = $3, last_error = $4, updated_at = now() WHERE instance_id = $1 AND tool = $2
            """, [id, tool.rawValue, code.rawValue, String(message.prefix(500))])
        await kickDelivery(id)
    }

    package static func config(_ row: PostgresRows.Row) throws -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: try row.decode("config", as: JSONText.self).data)) ?? [:]
    }
}
