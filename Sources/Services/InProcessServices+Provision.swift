import Foundation
import Postgres
import Providers
import Resources
import Store

/// `POST /provision/INSTANCE/TOOL`: one tool for a running agent. The resource is made (or, for a
/// `provisioning: user` tool, the claim's credentials taken) and its variables are recorded as
/// pending; the hand-over (`InProcessServices+Runtime.swift`) stores them on the Railway service
/// with `skipDeploys` (a redeploy would restart the agent and cost 25 s) and gives them to the
/// running agent with `/pool/restart-gateway`, in the background: tools that finish together share
/// one Railway call and one restart. The status batch says when they were delivered.
extension InProcessServices {
    public func provision(_ instanceID: String, tool: ToolName, _ request: ProvisionRequest) async throws -> ProvisionResult {
        _ = try await project(instanceID)
        if tool == .openrouter { return try await applyKeyLimit(instanceID, request.options) }
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
        if state == .ready {
            await kickDelivery(instanceID)
            return ProvisionResult(resourceId: try row.decode("external_id"), config: try Self.config(row), state: .ready)
        }
        guard state == .creating else { throw ServicesError.conflict("\(tool.rawValue) of \(instanceID) is \(state.rawValue)") }
        do {
            let made: ToolObservation
            if tool == .crypto {
                made = try await bankrKey(instanceID)
            } else if tool == .sms {
                made = try await phoneNumber(instanceID, name: name, options: request.options ?? ToolOptions(),
                                             repeated: !(try row.decode("inserted", as: Bool.self)))
            } else {
                guard let provider = providers.tools[tool] else { throw ServicesError.invalid("no provider for \(tool.rawValue)") }
                // Creates of inboxes find what an earlier attempt made (AgentMail by client_id),
                // so no listing is needed first.
                made = try await provider.create(name: name, options: request.options ?? ToolOptions())
            }
            if made.state == .pending {
                try await recordTool(instanceID, tool, externalID: made.externalID, state: .creating, config: made.config)
                return ProvisionResult(resourceId: made.externalID, config: made.config, state: .pending)
            }
            try await recordTool(instanceID, tool, externalID: made.externalID, state: .ready, config: made.config, env: made.variables)
            await kickDelivery(instanceID)
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

    /// The template's limit on the instance's key (`PATCH /keys/{hash}`), when it differs.
    private func applyKeyLimit(_ id: String, _ options: ToolOptions?) async throws -> ProvisionResult {
        guard providers.openRouter.isConfigured else {
            throw ServicesError(status: 503, code: .providerNotConfigured, message: "openrouter: OPENROUTER_PROVISIONING_KEY is not set")
        }
        let wanted = OpenRouterSettings(limitUsd: options?.limitUsd ?? settings.openRouterKeyLimit,
                                        limitReset: OpenRouterSettings.LimitReset(rawValue: options?.limitReset ?? settings.openRouterKeyLimitReset))
        let name = externalName(instanceID: id)
        guard let row = try await db.query("SELECT external_id, config, state FROM services.tool_resources WHERE instance_id = $1 AND tool = 'openrouter'",
                                           [id]).first else {
            throw ServicesError.conflict("instance \(id) has no OpenRouter key yet")
        }
        guard try row.decode("state", as: ToolState.self) == .ready, let hash: String = try row.decode("external_id") else {
            return try await remakeKey(id, name: name, wanted)
        }
        let current = try Self.config(row)
        let options = ToolOptions(limitUsd: wanted.limitUsd, limitReset: wanted.limitReset?.rawValue)
        // The key as last observed (its settings are recorded from each create and update).
        let observed = ToolObservation(state: .ready, externalID: hash, config: current)
        if providers.openRouter.isUpToDate(observed, with: options) { return ProvisionResult(resourceId: hash, config: current, state: .ready) }
        try await provider { () async throws(ProviderError) in
            try await providers.openRouter.update(name: name, externalID: hash, options: options)
        }
        let config = current.merging(wanted.wireConfig) { _, new in new }
        try await recordTool(id, .openrouter, externalID: hash, state: .ready, config: config)
        return ProvisionResult(resourceId: hash, config: config, state: .ready)
    }

    /// The key of a running agent, lost at OpenRouter (the audit found it deleted): made again with
    /// the wanted limit and handed over. A key an interrupted remake left under the name goes first.
    private func remakeKey(_ id: String, name: String, _ wanted: OpenRouterSettings) async throws -> ProvisionResult {
        let openRouter = providers.openRouter
        let made = try await provider { () async throws(ProviderError) in
            if let stray = try await openRouter.observe(name: name) { try await openRouter.delete(name: name, externalID: stray.externalID) }
            return try await openRouter.create(name: name, options: ToolOptions(limitUsd: wanted.limitUsd, limitReset: wanted.limitReset?.rawValue))
        }
        try await recordTool(id, .openrouter, externalID: made.externalID, state: .ready, config: made.config, env: made.variables)
        await kickDelivery(id)
        return ProvisionResult(resourceId: made.externalID, config: made.config, state: .ready)
    }

    /// Hands the instance a key from the Bankr pool (the same key again if it already holds one).
    private func bankrKey(_ instanceID: String) async throws -> ToolObservation {
        let rows = try await db.query("""
            UPDATE services.bankr_keys SET state = 'assigned', instance_id = $1, updated_at = now()
            WHERE id = coalesce(
                (SELECT id FROM services.bankr_keys WHERE instance_id = $1 AND state = 'assigned'),
                (SELECT id FROM services.bankr_keys WHERE state = 'available' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1))
            RETURNING id, api_key
            """, [instanceID])
        guard let row = rows.first else {
            throw ServicesError(status: 503, code: .bankrPoolEmpty, message: "no Bankr key available: add keys to BANKR_KEYS")
        }
        let key: String = try row.decode("api_key")
        _ = try await provider { () async throws(ProviderError) in try await providers.bankr.verify(key: key) }
        return ToolObservation(state: .ready, externalID: "bankr-key-\(try row.decode("id", as: Int.self))", variables: ["BANKR_API_KEY": key])
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
