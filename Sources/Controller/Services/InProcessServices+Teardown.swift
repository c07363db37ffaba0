import Foundation
import Postgres
import Providers
import Resources

extension InProcessServices {
    /// Tears the instance down in the seed's order: OpenRouter, AgentMail, Telnyx, Bankr, then the
    /// Railway project. Each step is recorded before and after, so a failure or crash resumes at the
    /// step it stopped at, and a step already done is not repeated.
    public func teardown(_ instanceID: String) async throws {
        guard validInstanceID(instanceID) else { throw ServicesError.invalid("instanceId must be 6-32 lowercase letters and digits") }
        _ = try await db.query("UPDATE services.instances SET state = 'deleting', updated_at = now() WHERE instance_id = $1 AND state <> 'deleted'",
                               [instanceID])
        let name = externalName(instanceID: instanceID)
        for tool in [ToolName.openrouter, .agentmail, .telnyx, .bankr] {
            guard let row = try await db.query(
                "SELECT external_id, state FROM services.tool_resources WHERE instance_id = $1 AND tool = $2", [instanceID, tool.rawValue]).first,
                  try row.decode("state", as: String.self) != "deleted" else { continue }
            _ = try await db.query("UPDATE services.tool_resources SET state = 'deleting', updated_at = now() WHERE instance_id = $1 AND tool = $2",
                                   [instanceID, tool.rawValue])
            do {
                if tool == .bankr {
                    // A key once handed out is retired, never given to another agent.
                    _ = try await db.query("UPDATE services.bankr_keys SET state = 'retired', updated_at = now() WHERE instance_id = $1", [instanceID])
                } else if let provider = providers.tools[tool] {
                    try await provider.delete(name: name, externalID: try row.decode("external_id"))
                }
            } catch let error as ProviderError {
                _ = try? await db.query("UPDATE services.tool_resources SET last_error = $3 WHERE instance_id = $1 AND tool = $2",
                                        [instanceID, tool.rawValue, error.description])
                throw ServicesError.provider(error)
            }
            _ = try await db.query("UPDATE services.tool_resources SET state = 'deleted', last_error = NULL, updated_at = now() WHERE instance_id = $1 AND tool = $2",
                                   [instanceID, tool.rawValue])
        }
        do {
            var projectID: String? = try await db.query("SELECT railway_project_id FROM services.instances WHERE instance_id = $1", [instanceID])
                .first?.decode("railway_project_id")
            // A crash between Railway's create and our write leaves no id: find the project by name.
            if projectID == nil { projectID = try await providers.railway.project(named: name)?.id }
            if let projectID { try await providers.railway.deleteProject(id: projectID) }
        } catch let error as ProviderError {
            throw ServicesError.provider(error)
        }
        _ = try await db.query("UPDATE services.instances SET state = 'deleted', updated_at = now() WHERE instance_id = $1", [instanceID])
    }

    /// One Railway query and one SQL query for any number of instances.
    public func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch {
        let ids = instanceIDs.filter(validInstanceID)
        let projects: [String: RailwayProject]
        do {
            projects = Dictionary(try await providers.railway.projects().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw ServicesError.provider(error)
        }
        // Instance ids are restricted to [a-z0-9], so the array literal needs no escaping; it is still bound.
        let rows = try await db.query("""
            SELECT i.instance_id, i.state, i.url, coalesce(jsonb_object_agg(t.tool, jsonb_build_object('state', t.state, 'error', t.last_error))
                   FILTER (WHERE t.tool IS NOT NULL), '{}') AS tools
            FROM services.instances i LEFT JOIN services.tool_resources t USING (instance_id)
            WHERE i.instance_id = ANY($1::text[]) GROUP BY i.instance_id, i.state, i.url
            """, ["{" + ids.joined(separator: ",") + "}"])
        var statuses: [String: InstanceServiceStatus] = [:]
        for id in ids {
            statuses[id] = InstanceServiceStatus(state: "missing", deployStatus: projects[externalName(instanceID: id)]?.deploymentStatus, url: nil, tools: [:])
        }
        for row in rows.rows {
            let id: String = try row.decode("instance_id")
            let tools = try JSONDecoder().decode([String: ToolStatus].self, from: try row.decode("tools", as: JSONText.self).data)
            let project = projects[externalName(instanceID: id)]
            statuses[id] = InstanceServiceStatus(state: try row.decode("state"), deployStatus: project?.deploymentStatus ?? "MISSING",
                                                 url: try row.decode("url"), tools: tools)
        }
        let known = Set(try await db.query("SELECT instance_id FROM services.instances WHERE state <> 'deleted'").rows.map { try $0.decode("instance_id", as: String.self) })
        let orphans = projects.keys.filter { $0.hasPrefix("convos-agent-") && !known.contains(String($0.dropFirst(13))) }.sorted()
        return StatusBatch(statuses: statuses, orphans: orphans)
    }
}
