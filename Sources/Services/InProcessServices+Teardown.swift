import Foundation
import Postgres
import Providers
import Resources

extension InProcessServices {
    /// `DELETE /destroy/INSTANCE`: tears the instance down in the seed's order, OpenRouter, AgentMail,
    /// Telnyx, Bankr, then the Railway project, each step confirmed gone before the next. Each step
    /// is recorded before and after, so a failure or crash resumes at the step it stopped at.
    public func destroy(_ instanceID: String) async throws {
        guard validInstanceID(instanceID) else { throw ServicesError.invalid("instanceId must be 6-32 lowercase letters and digits") }
        _ = try await db.query("UPDATE services.instances SET state = 'deleting', updated_at = now() WHERE instance_id = $1 AND state <> 'deleted'",
                               [instanceID])
        for tool in ToolName.allCases {
            guard let row = try await db.query(
                "SELECT external_id, state, provisioning FROM services.tool_resources WHERE instance_id = $1 AND tool = $2", [instanceID, tool.rawValue]).first,
                  try row.decode("state", as: ToolState.self) != .deleted else { continue }
            try await removeTool(instanceID, tool, externalID: try row.decode("external_id"),
                                 userProvided: try row.decode("provisioning", as: Provisioning.self) == .user)
        }
        let name = externalName(instanceID: instanceID)
        let railway = providers.railway
        var projectID: String? = try await db.query("SELECT railway_project_id FROM services.instances WHERE instance_id = $1", [instanceID])
            .first?.decode("railway_project_id")
        try await provider { () async throws(ProviderError) in
            // A crash between Railway's create and our write leaves no id: find the project by name.
            if projectID == nil { projectID = try await railway.project(named: name)?.id }
            guard let projectID else { return }
            try await railway.deleteProject(id: projectID)
            if try await railway.project(id: projectID) != nil {
                throw ProviderError(.retryable, provider: "railway", message: "project \(name) still exists after delete")
            }
        }
        try await db.transaction { c in
            _ = try await c.query("UPDATE services.instances SET state = 'deleted', updated_at = now() WHERE instance_id = $1", [instanceID])
            // The runtime's secrets go with it.
            _ = try await c.query("DELETE FROM services.runtime_env WHERE instance_id = $1", [instanceID])
        }
    }

    /// Removes one tool resource and confirms it is gone, the same way for every tool (its
    /// `ToolResource` says what removing means: a Bankr key is retired, a number goes back to the
    /// reuse pool or is released); credentials the user brought are only forgotten.
    package func removeTool(_ instanceID: String, _ tool: ToolName, externalID: String?, userProvided: Bool) async throws {
        _ = try await db.query("UPDATE services.tool_resources SET state = 'deleting', updated_at = now() WHERE instance_id = $1 AND tool = $2",
                               [instanceID, tool.rawValue])
        if !userProvided, let resource = tools[tool] {
            let target = ToolTarget(instanceID: instanceID)
            do {
                try await resource.delete(target, externalID: externalID)
                guard try await resource.isGone(target, externalID: externalID) else {
                    throw ServicesError.provider(ProviderError(.retryable, provider: tool.provider, message: "\(target.name) still present after delete"))
                }
            } catch {
                let failure = (error as? ProviderError).map(ServicesError.provider) ?? error
                let message = (failure as? ServicesError)?.message ?? String("\(failure)".prefix(300))
                _ = try? await db.query("UPDATE services.tool_resources SET last_error = $3 WHERE instance_id = $1 AND tool = $2",
                                        [instanceID, tool.rawValue, message])
                throw failure
            }
        }
        try await db.transaction { c in
            _ = try await c.query("""
                UPDATE services.tool_resources SET state = 'deleted', error_code = NULL, last_error = NULL, updated_at = now()
                WHERE instance_id = $1 AND tool = $2
                """, [instanceID, tool.rawValue])
            _ = try await c.query("DELETE FROM services.runtime_env WHERE instance_id = $1 AND source = $2", [instanceID, tool.rawValue])
        }
    }
}
