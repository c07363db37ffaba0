import Foundation
import Postgres
import Providers
import Resources
import Store

/// What services says to the runtimes (CONTRACT.md section 6), each call with the runtime's own key:
/// configure (`/pool/provision`), the model and tools' variables (`/pool/restart-gateway`), the
/// seed's template sync and clone summary, and a redeploy of another image.
extension InProcessServices {
    /// `POST /configure/INSTANCE`: the agent's conversation, through the runtime's `/pool/provision`.
    /// It answers as soon as the conversation exists (or the join waits for acceptance); a model
    /// change reaches the agent afterwards.
    ///
    /// A provision that fails where the runtime may have acted (a 500, a timeout) is cleaned up as
    /// production learned: `/convos/reset`, then `/convos/status` says whether the runtime holds
    /// nothing now (`clean`) or still a conversation (`dirty`); the caller decides the instance's
    /// fate. Not ready (503, no answer) is only waited for; a seed-era runtime, which has no
    /// `/convos/*`, keeps the error for a later attempt.
    public func configure(_ instanceID: String, _ request: ConfigureRequest) async throws -> ConfigureResult {
        let target = try await runtimeTarget(instanceID)
        let runtime = providers.runtime
        let outcome = try await handoff.exclusive(instanceID) { () async throws -> Result<RuntimeConversation, ProviderError> in
            try ServicesDB.checkFence()
            return await Self.provision(runtime, target, request)
        }

        let conversation: RuntimeConversation
        switch outcome {
        case .success(let answer):
            conversation = answer
            await health.answered(instanceID, now: clock.now)
        case .failure(let error):
            guard Self.mayHaveActed(error), let recovery = try await resetAfterFailedProvision(instanceID, target, error) else {
                throw ServicesError.runtime(error)
            }
            return ConfigureResult(ok: false, conversationId: nil, inviteUrl: nil, joined: false, recovery: recovery, error: error.message)
        }
        _ = try await db.query("UPDATE services.instances SET configured_at = now(), updated_at = now() WHERE instance_id = $1", [instanceID])
        if let model = request.model { try await setModel(instanceID, model, restart: !conversation.todaysRuntime) }
        // Tools made while the conversation was being created were held for it: hand them over now,
        // and tell the runtime its inbox and number.
        await kickDelivery(instanceID)
        if conversation.status != .pendingAcceptance { await tellMadeTools(instanceID) }
        return ConfigureResult(ok: true, conversationId: conversation.conversationId, inviteUrl: conversation.inviteUrl,
                               joined: conversation.joined, status: conversation.status)
    }

    /// The provision's answer or its error, as a value.
    private static func provision(_ runtime: RuntimeClient, _ target: RuntimeTarget, _ request: ConfigureRequest) async -> Result<RuntimeConversation, ProviderError> {
        do {
            return .success(try await runtime.provision(target.url, key: target.key, agentName: request.agentName,
                                                        instructions: request.instructions, joinUrl: request.joinUrl))
        } catch {
            return .failure(error)
        }
    }

    /// A provision error after which the runtime may hold a conversation: it answered an error of
    /// its own, or the call timed out. Not: it was not ready (503), refused our secret, or was not reached.
    private static func mayHaveActed(_ error: ProviderError) -> Bool {
        if let status = error.status { return ![503, 401, 403, 404, 409, 429].contains(status) }
        return error.kind == .retryable && error.message.hasPrefix("timed out")
    }

    /// `/convos/reset` then `/convos/status`; nil when the runtime has no `/convos/*` (seed-era).
    private func resetAfterFailedProvision(_ instanceID: String, _ target: RuntimeTarget, _ failure: ProviderError) async throws -> ProvisionRecovery? {
        let runtime = providers.runtime
        return try await handoff.exclusive(instanceID) { () async throws -> ProvisionRecovery? in
            try ServicesDB.checkFence()
            do throws(ProviderError) {
                try await runtime.reset(target.url, key: target.key)
                guard let state = try await runtime.conversationState(target.url, key: target.key) else { return nil }
                return state.clean == true ? .clean : .dirty
            } catch where error.kind == .notFound {
                return nil
            } catch {
                throw ServicesError.runtime(error)
            }
        }
    }

    /// `GET /convos/status` of the instance's runtime; nil for a seed-era runtime (no such route).
    public func conversationState(_ instanceID: String) async throws -> RuntimeConversationState? {
        let target = try await runtimeTarget(instanceID)
        do {
            return try await providers.runtime.conversationState(target.url, key: target.key)
        } catch {
            throw ServicesError.runtime(error)
        }
    }

    /// The seed's `/pool/update-template` with the agent's name, instructions and model; the model
    /// itself goes through a restart, which every runtime supports.
    public func updateTemplate(_ instanceID: String, _ request: ConfigureRequest) async throws -> RuntimeCallResult {
        let target = try await runtimeTarget(instanceID)
        if let model = request.model {
            let todays = await health.identities([instanceID])[instanceID]?.version != nil
            try await setModel(instanceID, model, restart: !todays)
        }
        let body = try JSONValue.from(request)
        let runtime = providers.runtime
        do {
            let supported = try await handoff.exclusive(instanceID) {
                try ServicesDB.checkFence()
                return try await runtime.post(target.url, key: target.key, "update-template", body: body)
            }
            return RuntimeCallResult(ok: supported, supported: supported)
        } catch let error as ProviderError {
            throw ServicesError.runtime(error)
        }
    }

    /// The parent runtime's `/pool/clone-summary`, telling it a clone of it now runs.
    public func cloneSummary(_ parentInstanceID: String, _ request: CloneSummaryRequest) async throws -> RuntimeCallResult {
        let target = try await runtimeTarget(parentInstanceID)
        try ServicesDB.checkFence()
        do {
            let supported = try await providers.runtime.post(target.url, key: target.key, "clone-summary", body: try JSONValue.from(request))
            return RuntimeCallResult(ok: supported, supported: supported)
        } catch let error as ProviderError {
            throw ServicesError.runtime(error)
        }
    }

    /// `OPENCLAW_PRIMARY_MODEL` for the runtime, when it differs from what the runtime has. A
    /// seed-era runtime reads it at start: recorded as pending, for the hand-over's restart. Today's
    /// runtime takes its model from OpenRouter presets and reads no model variable (its
    /// `.env.example`: "No model env vars needed"), so a restart would only take the agent away for
    /// nothing: the value is recorded as delivered and reaches the service with its next deployment
    /// (an upgrade reconciles every variable).
    private func setModel(_ instanceID: String, _ model: String, restart: Bool) async throws {
        let current: String? = try await db.query("SELECT value FROM services.runtime_env WHERE instance_id = $1 AND name = 'OPENCLAW_PRIMARY_MODEL'",
                                                  [instanceID]).first?.decode("value")
        guard model != (current ?? settings.primaryModel) else { return }
        _ = try await db.query("""
            INSERT INTO services.runtime_env (instance_id, name, value, source, delivered_at)
            VALUES ($1, 'OPENCLAW_PRIMARY_MODEL', $2, 'model', CASE WHEN $3 THEN NULL ELSE now() END)
            ON CONFLICT (instance_id, name) DO UPDATE SET value = excluded.value, updated_at = now(), delivered_at = excluded.delivered_at
            """, [instanceID, model, restart])
        if restart { await kickDelivery(instanceID) }
    }

    /// Starts handing the instance's pending variables to its runtime, in the background.
    package func kickDelivery(_ instanceID: String) async {
        let services = self
        await handoff.kick(instanceID) { await services.deliver(instanceID) }
    }

    /// The hand-over: every pending variable stored on the Railway service with `skipDeploys` (so a
    /// later deploy or restart of the container has them), then one `/pool/restart-gateway` with
    /// them; those sent are marked delivered, unless their value changed meanwhile. A failure leaves
    /// them pending for the next kick.
    ///
    /// Held until the runtime is configured (the invite first; a restart must not cut into
    /// `/pool/provision`), and while a tool is still being made, so tools made together share one
    /// restart (a restart takes the agent away for seconds). A tool that failed does not hold the others.
    private func deliver(_ instanceID: String) async {
        let runtime = providers.runtime
        do {
            try await handoff.exclusive(instanceID) {
                let ready = try await db.query("""
                    SELECT i.configured_at IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM services.tool_resources t WHERE t.instance_id = i.instance_id AND t.state = 'creating' AND t.error_code IS NULL
                    ) AS ready FROM services.instances i WHERE i.instance_id = $1
                    """, [instanceID]).first?.decode("ready", as: Bool.self) ?? false
                guard ready else { return }
                let rows = try await db.query("SELECT name, value FROM services.runtime_env WHERE instance_id = $1 AND delivered_at IS NULL ORDER BY name",
                                              [instanceID]).rows
                guard !rows.isEmpty else { return }
                var env: [String: String] = [:]
                for row in rows { env[try row.decode("name")] = try row.decode("value") }
                let project = try await project(instanceID)
                let target = try await runtimeTarget(instanceID)
                // It restarts: its next health is pinged, not remembered.
                await health.forget(instanceID)
                // Both at once: the restart is what the agent waits for, and Railway's copy is kept
                // long before the restart ends. Either failing leaves the variables pending.
                let railway = providers.railway, variables = env
                try ServicesDB.checkFence()
                async let stored = Self.failure { try await railway.storeVariables(project, variables) }
                let restarted = await Self.failure { try await runtime.restart(target.url, key: target.key, env: variables) }
                if let error = await stored ?? restarted { throw error }
                let names = env.keys.sorted()
                _ = try await db.query("""
                    UPDATE services.runtime_env e SET delivered_at = now() FROM unnest($2::text[], $3::text[]) AS u(n, v)
                    WHERE e.instance_id = $1 AND e.name = u.n AND e.value = u.v
                    """, [instanceID, textArray(names), textArray(names.map { env[$0]! })])
                deliveries.delivered(instance: instanceID)
            }
        } catch {
            // Still pending in services.runtime_env: the status batch kicks it again.
        }
    }

    /// The error `body` throws, as a value: child tasks here never rethrow typed errors (a release
    /// build corrupted memory doing so inside a task group).
    private static func failure(_ body: @Sendable () async throws -> Void) async -> (any Error)? {
        do { try await body(); return nil } catch { return error }
    }

    /// `POST /redeploy/INSTANCE`: another image (a digest) through one patch commit: one deployment.
    public func redeploy(_ instanceID: String, image: String?) async throws {
        let project = try await project(instanceID)
        var image = image
        if image == nil { image = try await db.query("SELECT image FROM services.instances WHERE instance_id = $1", [instanceID]).first?.decode("image") }
        guard let image, let environmentID = project.environmentID, let serviceID = project.serviceID else {
            throw ServicesError.invalid("image is required")
        }
        let spec = ServiceDeploySpec(image: image, startCommand: settings.startCommand, cpu: settings.cpu, memoryGB: settings.memoryGB)
        try await provider { () async throws(ProviderError) in
            try await providers.railway.commit(environmentID: environmentID, serviceID: serviceID, spec, message: "Redeploy \(instanceID)")
        }
        _ = try await db.query("UPDATE services.instances SET image = $2, deploy_status = 'DEPLOYING', updated_at = now() WHERE instance_id = $1",
                               [instanceID, image])
    }

    /// `DELETE /destroy/INSTANCE/TOOL/RESOURCE`: one tool's resource, confirmed gone, and taken from
    /// the running agent: its variables are handed over blank (`/pool/restart-gateway`), as no
    /// call unsets one. RESOURCE `-` names a resource not known by id (its make never finished):
    /// the provider finds it by the instance's name. Gone already: done.
    @discardableResult
    public func destroyTool(_ instanceID: String, tool: ToolName, resourceID: String) async throws -> Bool {
        guard let row = try await db.query("SELECT external_id, provisioning, state FROM services.tool_resources WHERE instance_id = $1 AND tool = $2",
                                           [instanceID, tool.rawValue]).first else {
            throw ServicesError.notFound("\(tool.rawValue) of instance \(instanceID) not found")
        }
        let external: String? = try row.decode("external_id")
        if try row.decode("state", as: ToolState.self) == .deleted { return false }
        guard external == resourceID || (resourceID == "-" && external == nil) else {
            throw ServicesError.notFound("\(tool.rawValue) of instance \(instanceID) has no resource \(resourceID)")
        }
        let names = try await db.query("SELECT name FROM services.runtime_env WHERE instance_id = $1 AND source = $2", [instanceID, tool.rawValue])
            .rows.map { try $0.decode("name", as: String.self) }
        let userProvided = try row.decode("provisioning", as: Provisioning.self) == .user
        try await removeTool(instanceID, tool, externalID: external, userProvided: userProvided)
        if !userProvided { await tellMetadata(instanceID, tool, "") }
        guard !names.isEmpty else { return true }
        _ = try await db.query("""
            INSERT INTO services.runtime_env (instance_id, name, value, source) SELECT $1, n, '', $2 FROM unnest($3::text[]) AS n
            ON CONFLICT (instance_id, name) DO UPDATE SET value = '', source = excluded.source, delivered_at = NULL, updated_at = now()
            """, [instanceID, tool.rawValue, textArray(names)])
        await kickDelivery(instanceID)
        return true
    }
}
