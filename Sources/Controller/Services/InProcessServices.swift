import Foundation
import Postgres
import Providers
import Resources

/// The services API carried out in this process, over the `services` schema and the providers.
///
/// Crash safety: each external create is preceded by a committed intent row (`creating`), and every
/// external name derives from the instance id, so after a crash at any point the next call finds
/// the resource by name and adopts it (or, for an OpenRouter key whose secret was lost, deletes it
/// and makes a new one). Provider ids live only in the `services` schema.
public struct InProcessServices: ServicesClient {
    let db: PostgresPool
    let providers: ProviderSet

    public init(db: PostgresPool, providers: ProviderSet) {
        self.db = db
        self.providers = providers
    }

    /// Loads `BANKR_KEYS` into the pool; known keys are left as they are.
    public func loadBankrKeys() async throws {
        for key in providers.bankrKeys {
            _ = try await db.query("INSERT INTO services.bankr_keys (api_key) VALUES ($1) ON CONFLICT (api_key) DO NOTHING", [key])
        }
    }

    public func createInstance(_ instanceID: String, image: String) async throws -> InstanceServiceStatus {
        guard validInstanceID(instanceID) else { throw ServicesError.invalid("instanceId must be 6-32 lowercase letters and digits") }
        guard !image.isEmpty else { throw ServicesError.invalid("image is required") }
        let intent = try await db.query("""
            INSERT INTO services.instances (instance_id, image) VALUES ($1, $2)
            ON CONFLICT (instance_id) DO UPDATE SET updated_at = now()
            RETURNING state
            """, [instanceID, image])
        let state: String = try intent.first!.decode("state")
        guard state == "creating" || state == "ready" else { throw ServicesError.conflict("instance \(instanceID) is \(state)") }
        do {
            let project = try await providers.railway.ensure(name: externalName(instanceID: instanceID), image: image,
                                                             variables: ["CONVOS_INSTANCE_ID": instanceID, "PORT": "8080"])
            let url = project.domain.map { "\(providers.instanceURLScheme)://\($0)" }
            _ = try await db.query("""
                UPDATE services.instances SET railway_project_id = $2, railway_environment_id = $3, railway_service_id = $4,
                    url = $5, deploy_status = coalesce($6, deploy_status), state = 'ready', last_error = NULL, updated_at = now()
                WHERE instance_id = $1
                """, [instanceID, project.id, project.environmentID, project.serviceID, url, project.deploymentStatus])
            return InstanceServiceStatus(state: "ready", deployStatus: project.deploymentStatus, url: url, tools: [:])
        } catch let error as ProviderError {
            _ = try? await db.query("UPDATE services.instances SET last_error = $2, updated_at = now() WHERE instance_id = $1",
                                    [instanceID, error.description])
            throw ServicesError.provider(error)
        }
    }

    public func provision(_ instanceID: String, tool: ToolName, options: ToolOptions) async throws -> ToolStatus {
        guard let instance = try await db.query(
            "SELECT railway_project_id, railway_environment_id, railway_service_id, state FROM services.instances WHERE instance_id = $1",
            [instanceID]).first else { throw ServicesError.notFound("instance \(instanceID) not found") }
        guard try instance.decode("state", as: String.self) == "ready",
              let projectID: String = try instance.decode("railway_project_id"),
              let serviceID: String = try instance.decode("railway_service_id") else {
            throw ServicesError.conflict("instance \(instanceID) has no Railway service yet")
        }
        let project = RailwayProject(id: projectID, name: externalName(instanceID: instanceID),
                                     environmentID: try instance.decode("railway_environment_id"), serviceID: serviceID)
        let name = externalName(instanceID: instanceID)
        // The intent row, committed before any external create.
        let row = try await db.query("""
            INSERT INTO services.tool_resources (instance_id, tool, idempotency_name) VALUES ($1, $2, $3)
            ON CONFLICT (instance_id, tool) DO UPDATE SET updated_at = now()
            RETURNING state, external_id
            """, [instanceID, tool.rawValue, "\(name)/\(tool.rawValue)"]).first!
        let state: String = try row.decode("state")
        if state == "ready" { return ToolStatus(state: .ready) }
        guard state == "creating" else { throw ServicesError.conflict("\(tool.rawValue) of \(instanceID) is \(state)") }
        do {
            let observation: ToolObservation
            if tool == .bankr {
                observation = try await bankrKey(instanceID)
            } else {
                guard let provider = providers.tools[tool] else { throw ServicesError.invalid("unknown tool \(tool.rawValue)") }
                observation = try await ensure(provider, name: name, options: options)
            }
            if observation.state == .pending {
                try await recordTool(instanceID, tool, externalID: observation.externalID, state: "creating", error: nil)
                return ToolStatus(state: .pending)
            }
            if !observation.variables.isEmpty { try await providers.railway.setVariables(project, observation.variables) }
            try await recordTool(instanceID, tool, externalID: observation.externalID, state: "ready", error: nil)
            return ToolStatus(state: .ready)
        } catch let error as ProviderError {
            try? await recordTool(instanceID, tool, externalID: nil, state: "creating", error: error.description)
            throw ServicesError.provider(error)
        }
    }

    /// Observe, then adopt or create. An OpenRouter key found by name has no readable secret, so it
    /// is deleted and made again: the agent must get the key, and a key nobody holds is a leak.
    private func ensure(_ provider: any ToolProvider, name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation {
        if let found = try await provider.observe(name: name) {
            guard provider.tool == .openrouter else { return found.state == .ready ? found : try await provider.create(name: name, options: options) }
            try await provider.delete(name: name, externalID: found.externalID)
        }
        return try await provider.create(name: name, options: options)
    }

    private func recordTool(_ instanceID: String, _ tool: ToolName, externalID: String?, state: String, error: String?) async throws {
        _ = try await db.query("""
            UPDATE services.tool_resources SET external_id = coalesce($3, external_id), state = $4, last_error = $5, updated_at = now()
            WHERE instance_id = $1 AND tool = $2
            """, [instanceID, tool.rawValue, externalID, state, error])
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
            throw ServicesError(status: 503, code: "BankrPoolEmpty", message: "no Bankr key available: add keys to BANKR_KEYS")
        }
        let key: String = try row.decode("api_key")
        _ = try await providers.bankr.verify(key: key)
        return ToolObservation(state: .ready, externalID: "bankr-key-\(try row.decode("id", as: Int.self))", variables: ["BANKR_API_KEY": key])
    }
}
