import Foundation
import Postgres
import Providers
import Resources
import Store

/// `POST /create-instance`, as production learned it (convos-system.md section 3): project, empty
/// service, `/data` volume, domain, the OpenRouter key, then one `environmentPatchCommit` carrying
/// the digest-pinned image, start command, limits and every variable. Exactly one deployment.
///
/// Each step's result is recorded before the next starts. A repeat (after an error or a crash)
/// looks at the project once and adopts what an interrupted call made, so nothing is made twice;
/// a project is found by name only when its create may have happened without being recorded.
extension InProcessServices {
    public func createInstance(_ instanceID: String, image: String?, env: [String: String] = [:]) async throws -> CreatedInstance {
        guard validInstanceID(instanceID) else { throw ServicesError.invalid("instanceId must be 6-32 lowercase letters and digits") }
        let image = try await resolve(image)
        let secrets = RuntimeSecrets.make()
        let row = try await db.query("""
            INSERT INTO services.instances (instance_id, image, runtime_key, services_token, gateway_token, setup_password, wallet_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (instance_id) DO UPDATE SET updated_at = now(),
                -- A row an older version wrote has no secrets yet: it gets them once, here.
                runtime_key = coalesce(services.instances.runtime_key, excluded.runtime_key),
                services_token = coalesce(services.instances.services_token, excluded.services_token),
                gateway_token = coalesce(services.instances.gateway_token, excluded.gateway_token),
                setup_password = coalesce(services.instances.setup_password, excluded.setup_password),
                wallet_key = coalesce(services.instances.wallet_key, excluded.wallet_key)
            RETURNING state, url, railway_project_id, railway_environment_id, railway_service_id, railway_volume_id,
                      project_create_started_at IS NOT NULL AS project_started, deploy_commit_started_at IS NOT NULL AS commit_started,
                      runtime_key, services_token, gateway_token, setup_password, wallet_key, (xmax = 0) AS inserted
            """, [instanceID, image, secrets.runtimeKey, secrets.servicesToken, secrets.gatewayToken, secrets.setupPassword, secrets.walletKey]).first!
        let state: ServiceInstanceState = try row.decode("state")
        if state == .ready { return CreatedInstance(instanceId: instanceID, url: try row.decode("url")) }
        guard state == .creating else { throw ServicesError.conflict("instance \(instanceID) is \(state.rawValue)") }
        do {
            return try await create(instanceID, image: image, env: env, row: row)
        } catch let error as ProviderError {
            try await recordFailure(instanceID, ServicesError.provider(error), description: error.description)
        } catch let error as ServicesError where error.code == .providerQuota {
            // A tool's provider (the OpenRouter key) refused for its quota: the same wait.
            try await recordFailure(instanceID, error, description: error.message)
        }
    }

    /// Records why a create stopped, then throws it. A quota's refusal came before acting: nothing
    /// was made, so the next attempt need not look for it; the pool's Progressing condition shows
    /// the wait.
    private func recordFailure(_ instanceID: String, _ error: ServicesError, description: String) async throws -> Never {
        if error.code == .providerQuota {
            let wait = (error.retryAfter ?? .seconds(1)).timeInterval
            _ = try? await db.query("""
                UPDATE services.instances SET last_error = $2, quota_wait_until = now() + make_interval(secs => $3), updated_at = now(),
                    project_create_started_at = CASE WHEN railway_project_id IS NULL THEN NULL ELSE project_create_started_at END
                WHERE instance_id = $1
                """, [instanceID, description, wait])
        } else {
            _ = try? await db.query("UPDATE services.instances SET last_error = $2, updated_at = now() WHERE instance_id = $1",
                                    [instanceID, description])
        }
        throw error
    }

    private func create(_ id: String, image: String, env: [String: String], row: PostgresRows.Row) async throws -> CreatedInstance {
        let name = externalName(instanceID: id)
        let railway = providers.railway
        var projectID: String? = try row.decode("railway_project_id")
        var environmentID: String? = try row.decode("railway_environment_id")
        if projectID == nil, try row.decode("project_started", as: Bool.self), let found = try await railway.project(named: name) {
            // A create that ran but was never recorded: adopt it (crash recovery only; listing is costly).
            (projectID, environmentID) = (found.id, found.environmentID)
        }
        // A repeat looks once at what an interrupted call made.
        var seen: RailwayProject?
        if let projectID, !(try row.decode("inserted", as: Bool.self)) { seen = try await railway.project(id: projectID) }
        if projectID == nil {
            // Marked only once a token is free and the request about to leave: a create deferred
            // for the pace never makes the next attempt list the workspace.
            let project = try await railway.createProject(name: name, environmentName: settings.environmentName) {
                try await record(id, "project_create_started_at = now()")
            }
            (projectID, environmentID) = (project.id, project.environmentID)
        }
        guard let projectID, let environmentID = environmentID ?? seen?.environmentID else {
            throw ProviderError(.terminal, provider: "railway", message: "project \(name) has no environment")
        }
        try await record(id, "railway_project_id = $2, railway_environment_id = $3", [projectID, environmentID])

        var serviceID: String? = try row.decode("railway_service_id") ?? seen?.serviceID
        if serviceID == nil {
            try ServicesDB.checkFence()
            serviceID = try await railway.createService(projectID: projectID, environmentID: environmentID, name: name,
                                                        registryCredentials: settings.registryCredentials)
        }
        guard let serviceID else { throw ProviderError(.terminal, provider: "railway", message: "no service for \(name)") }
        try await record(id, "railway_service_id = $2", [serviceID])

        if try row.decode("railway_volume_id", as: String?.self) == nil {
            var volumeID = seen?.volumeID
            if volumeID == nil {
                try ServicesDB.checkFence()
                volumeID = try await createVolume(railway, projectID: projectID, environmentID: environmentID, serviceID: serviceID)
            }
            try await record(id, "railway_volume_id = $2", [volumeID])
        }

        var url: String? = try row.decode("url")
        if url == nil {
            var domain = seen?.domain
            if domain == nil {
                try ServicesDB.checkFence()
                domain = try await railway.createDomain(environmentID: environmentID, serviceID: serviceID, port: 8080)
            }
            url = "\(providers.instanceURLScheme)://\(domain ?? "")"
            try await record(id, "url = $2", [url])
        }

        // The OpenRouter key before the commit, so the one deploy carries it.
        let key = try await openRouterKey(id, name: name)
        let alreadyDeployed = try row.decode("commit_started", as: Bool.self) && (seen?.deploymentStatus != nil)
        if !alreadyDeployed {
            let secrets = RuntimeSecrets(runtimeKey: try row.decode("runtime_key"), servicesToken: try row.decode("services_token"),
                                         gatewayToken: try row.decode("gateway_token"), setupPassword: try row.decode("setup_password"),
                                         walletKey: try row.decode("wallet_key"))
            let spec = ServiceDeploySpec(image: image, startCommand: settings.startCommand, cpu: settings.cpu, memoryGB: settings.memoryGB,
                                         variables: settings.variables(instanceID: id, secrets: secrets, openRouterKey: key, image: image,
                                                                       poolURL: poolURL.withLock { $0 }, poolEnv: env))
            try await record(id, "deploy_commit_started_at = now()")
            try ServicesDB.checkFence()
            try await railway.commit(environmentID: environmentID, serviceID: serviceID, spec, message: "Convos agent instance \(id)")
        }
        _ = try await db.query("UPDATE services.runtime_env SET delivered_at = now() WHERE instance_id = $1 AND source = 'openrouter'", [id])
        try await record(id, "deployed_at = coalesce(deployed_at, now()), deploy_status = 'DEPLOYING', state = 'ready', last_error = NULL, quota_wait_until = NULL, variables_checked_at = coalesce(variables_checked_at, now())")
        return CreatedInstance(instanceId: id, url: url)
    }

    /// The instance's OpenRouter key, made once: limit `OPENROUTER_KEY_LIMIT`, reset
    /// `OPENROUTER_KEY_LIMIT_RESET`. Its secret is kept for the deploy; a key found by name whose
    /// secret was lost (a crash, a lost answer) is deleted and made again. Nil when OpenRouter is
    /// not configured: the instance is made without a key, as a disabled provider means.
    private func openRouterKey(_ id: String, name: String) async throws -> String? {
        guard providers.openRouter.isConfigured else { return nil }
        if let kept: String = try await db.query("""
            SELECT e.value FROM services.runtime_env e JOIN services.tool_resources t ON t.instance_id = e.instance_id AND t.tool = 'openrouter'
            WHERE e.instance_id = $1 AND e.name = 'OPENROUTER_API_KEY' AND t.state = 'ready'
            """, [id]).first?.decode("value") { return kept }
        let first = try await db.query("""
            INSERT INTO services.tool_resources (instance_id, tool, idempotency_name) VALUES ($1, 'openrouter', $2)
            ON CONFLICT (instance_id, tool) DO UPDATE SET state = 'creating', updated_at = now()
            RETURNING (xmax = 0) AS inserted
            """, [id, "\(name)/openrouter"]).first!.decode("inserted", as: Bool.self)
        let keys = OpenRouterKeys(provider: providers.openRouter, defaultLimit: settings.openRouterKeyLimit, defaultReset: settings.openRouterKeyLimitReset)
        let made = try await keys.create(ToolTarget(instanceID: id, repeated: !first), options: ToolOptions())
        let secret = made.variables["OPENROUTER_API_KEY"] ?? ""
        try await recordTool(id, .openrouter, externalID: made.externalID, state: .ready, config: made.config, env: made.variables)
        return secret
    }

    /// The service's `/data` volume. Railway allows one volume per service: when it refuses a
    /// second, the one an earlier attempt made (a deposed leader's, a lost answer) is the instance's.
    private func createVolume(_ railway: RailwayClient, projectID: String, environmentID: String, serviceID: String) async throws -> String? {
        let result: Result<String, ProviderError>
        do { result = .success(try await railway.createVolume(projectID: projectID, environmentID: environmentID, serviceID: serviceID, mountPath: "/data")) }
        catch { result = .failure(error) }
        switch result {
        case .success(let id): return id
        case .failure(let error) where error.kind == .conflict: return try await railway.project(id: projectID)?.volumeID
        case .failure(let error): throw error
        }
    }

    /// The image to deploy: the one given, or the bootstrap image's tag resolved to its digest.
    private func resolve(_ image: String?) async throws -> String {
        if let image, !image.isEmpty { return image }
        guard let reference = ImageReference(settings.image) else { throw ServicesError.invalid("AGENT_IMAGE \(settings.image) is not an image reference") }
        let digest = try await provider { () async throws(ProviderError) in try await providers.ghcr.resolve(reference) }
        return "\(reference.registry)/\(reference.repository)@\(digest)"
    }

    /// One step's result on the intent row.
    private func record(_ id: String, _ assignments: String, _ values: [String?] = []) async throws {
        _ = try await db.query("UPDATE services.instances SET \(assignments), updated_at = now() WHERE instance_id = $1",
                               [id] + values.map { $0 as (any PostgresEncodable) })
    }
}
