import Foundation
import Postgres
import Providers
import Resources

/// No account-wide secret in any runtime (CONTRACT.md section 6): an instance made before this
/// version may hold variables the contract no longer lists (`AGENTMAIL_API_KEY`, `TELNYX_API_KEY`,
/// the pool's own `POOL_API_KEY`, production's `_DEPLOY_TS`). Each such instance is looked at once;
/// what is not allowed is removed in one `environmentPatchCommit` (one deployment: its conversation
/// survives on `/data`), and the instance is marked checked.
extension InProcessServices {
    /// The names every runtime may hold, besides its pool's `env` and its own tool variables.
    static let contractNames: Set<String> = [
        "INSTANCE_ID", "GATEWAY_TOKEN", "POOL_URL", "RUNTIME_TYPE", "OPENROUTER_API_KEY", "XMTP_ENV", "PRIVATE_WALLET_KEY",
        "OPENCLAW_PRIMARY_MODEL", "POOL_API_KEY", "INSTANCE_SERVICES_TOKEN", "SERVICES_URL", "SETUP_PASSWORD", "PORT",
    ]

    /// `POST /prune-variables/INSTANCE`: the names removed (none when the instance was clean, or
    /// checked before). `allowed`: its pool's `env` names.
    public func pruneVariables(_ instanceID: String, allowed: [String]) async throws -> [String] {
        guard let row = try await db.query("""
            SELECT image, variables_checked_at IS NOT NULL AS checked FROM services.instances WHERE instance_id = $1 AND state = 'ready'
            """, [instanceID]).first, !(try row.decode("checked", as: Bool.self)) else { return [] }
        let (spec, removed) = try await reconciledVariables(instanceID, image: try row.decode("image"), allowed: allowed,
                                                            env: try await runtimeEnv(instanceID))
        if !removed.isEmpty { try await commit(instanceID, spec, message: "Remove variables the contract does not list") }
        _ = try await db.query("UPDATE services.instances SET variables_checked_at = now() WHERE instance_id = $1", [instanceID])
        return removed
    }

    /// `POST /upgrade/INSTANCE`: the runtime to `image` (a digest) in one patch commit of its own
    /// service, its variables reconciled to exactly the contract's set in the same commit (stale ones
    /// removed, its recorded ones set: the model today's runtime was not restarted for). One
    /// deployment; the `/data` volume keeps its identity and conversation. The names removed.
    public func upgrade(_ instanceID: String, image: String, allowed: [String]) async throws -> [String] {
        guard try await db.query("SELECT 1 FROM services.instances WHERE instance_id = $1 AND state = 'ready'", [instanceID]).first != nil else {
            throw ServicesError.notFound("instance \(instanceID) not found")
        }
        let env = try await runtimeEnv(instanceID)
        var (spec, removed) = try await reconciledVariables(instanceID, image: image, allowed: allowed, env: env)
        for (name, entry) in env where entry.source != "openrouter" {
            if entry.value.isEmpty { spec.removed.append(name) } else { spec.variables[name] = entry.value }
        }
        try await commit(instanceID, spec, message: "Upgrade to \(image)")
        _ = try await db.query("""
            UPDATE services.instances SET image = $2, variables_checked_at = now(), updated_at = now() WHERE instance_id = $1
            """, [instanceID, image])
        _ = try await db.query("UPDATE services.runtime_env SET delivered_at = coalesce(delivered_at, now()) WHERE instance_id = $1", [instanceID])
        return removed
    }

    /// The deploy spec of `image` with what the instance's variables lack or must lose: names the
    /// contract does not list and values equal to a controller secret removed; a foreign
    /// `POOL_API_KEY` replaced by the runtime's own secret.
    private func reconciledVariables(_ instanceID: String, image: String, allowed: [String],
                                     env: [String: (value: String, source: String)]) async throws -> (ServiceDeploySpec, [String]) {
        let project = try await project(instanceID)
        let railway = providers.railway
        let stored = try await provider { () async throws(ProviderError) in try await railway.variables(project) }
        let own: String? = try await db.query("SELECT runtime_key FROM services.instances WHERE instance_id = $1", [instanceID]).first?.decode("runtime_key")
        let toolNames = Set(env.keys)
        var keep = Self.contractNames.union(allowed).union(settings.sharedEnv.keys).union(toolNames)
        if stored["POOL_API_KEY"] != nil, stored["POOL_API_KEY"] != own { keep.remove("POOL_API_KEY") }
        let forbidden = Set(settings.forbiddenValues.filter { !$0.isEmpty })
        let removed = stored.filter { name, value in !keep.contains(name) || forbidden.contains(value) }.keys.sorted()
        var spec = ServiceDeploySpec(image: image, startCommand: settings.startCommand, cpu: settings.cpu, memoryGB: settings.memoryGB)
        spec.removed = removed
        // The pool's own key where the runtime's own secret belongs: the runtime's own, in the same commit.
        if removed.contains("POOL_API_KEY"), let own { spec.variables["POOL_API_KEY"] = own; spec.removed.removeAll { $0 == "POOL_API_KEY" } }
        return (spec, removed)
    }

    /// The variables recorded for the instance's runtime (`services.runtime_env`): value and source by name.
    private func runtimeEnv(_ instanceID: String) async throws -> [String: (value: String, source: String)] {
        var env: [String: (value: String, source: String)] = [:]
        for row in try await db.query("SELECT name, value, source FROM services.runtime_env WHERE instance_id = $1", [instanceID]).rows {
            env[try row.decode("name")] = (try row.decode("value"), try row.decode("source"))
        }
        return env
    }

    /// One patch commit of the instance's service (one deployment): its runtime is pinged afresh after.
    private func commit(_ instanceID: String, _ spec: ServiceDeploySpec, message: String) async throws {
        let project = try await project(instanceID)
        guard let environmentID = project.environmentID, let serviceID = project.serviceID else {
            throw ServicesError.notFound("instance \(instanceID) has no Railway service")
        }
        let railway = providers.railway
        try ServicesDB.checkFence()
        try await provider { () async throws(ProviderError) in
            try await railway.commit(environmentID: environmentID, serviceID: serviceID, spec, message: message)
        }
        _ = try await db.query("UPDATE services.instances SET deploy_status = 'DEPLOYING', updated_at = now() WHERE instance_id = $1", [instanceID])
        await health.forget(instanceID)
    }
}
