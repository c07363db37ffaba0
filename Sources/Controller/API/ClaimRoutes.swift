import Foundation
import HTTPServer
import Postgres
import Resources

/// `POST /api/pool/claim`: binds an idle instance to a new agent in one statement and answers at
/// once: 200 with the instance and URL, or 202 when the pool is empty and the agent waits (it binds
/// as soon as an instance is ready). Any replica can serve it: the claim is atomic in the database.
extension API {
    struct ClaimRequest: Decodable {
        var templateId: String?
        var ownerId: String?
        var cloneFrom: String?
    }

    struct ClaimResponse: Encodable {
        let agent: String
        let instanceId: String?
        let url: String?
        let status: String
    }

    func addClaimRoutes(_ router: inout Router) {
        let store = self.store
        let wake = self.wake
        let metrics = self.metrics
        router.add("POST", "/api/pool/claim") { request in
            let started = ContinuousClock.now
            guard request.contentType == nil || request.contentType == "application/json" else {
                throw HTTPError.unsupportedMediaType("send the claim as application/json")
            }
            let body: ClaimRequest
            do { body = try JSONDecoder().decode(ClaimRequest.self, from: request.body) } catch { throw Self.malformedJSON(request.body) }
            var details: [HTTPError.Detail] = []
            let template = body.templateId ?? ""
            let owner = body.ownerId ?? ""
            details += Check.dnsLabel(template, at: "templateId").map(Self.detail)
            details += Check.text(owner, at: "ownerId", max: 128).map(Self.detail)
            if let parent = body.cloneFrom { details += Check.dnsLabel(parent, at: "cloneFrom").map(Self.detail) }
            guard details.isEmpty else { throw HTTPError.badRequest("invalid claim: \(details[0].path): \(details[0].message)", details: details) }
            let result = try await store.db.transaction { c -> ClaimResponse in
                guard try await !c.query("SELECT 1 FROM pool.agent_templates WHERE name = $1", [template]).isEmpty else {
                    throw StoreError.unprocessable("agenttemplate/\(template) does not exist", [FieldError("templateId", "agenttemplate/\(template) does not exist")])
                }
                if let parent = body.cloneFrom {
                    guard let row = try await c.query("SELECT owner_id, deletion_requested_at IS NOT NULL AS deleting FROM pool.agents WHERE name = $1", [parent]).first else {
                        throw StoreError.unprocessable("agent/\(parent) does not exist", [FieldError("cloneFrom", "agent/\(parent) does not exist")])
                    }
                    guard try row.decode("owner_id", as: String.self) == owner, try !row.decode("deleting", as: Bool.self) else {
                        throw StoreError.unprocessable("agent/\(parent) belongs to another owner", [FieldError("cloneFrom", "only the owner of agent/\(parent) may clone it")])
                    }
                }
                let name = "agent-" + InstanceID.make()
                let spec = try JSONValue.from(AgentSpec(template: template, owner: owner, cloneFrom: body.cloneFrom))
                var status = AgentStatus(phase: .pending)
                _ = try await c.query("""
                    INSERT INTO pool.agents (name, spec, template, owner_id, clone_from, status) VALUES ($1, $2::jsonb, $3, $4, $5, $6::jsonb)
                    """, [name, spec.jsonText, template, owner, body.cloneFrom, try JSONValue.from(status).jsonText])
                guard let pool = try await Claims.defaultPool(c),
                      let claimed = try await Claims.claim(c, pool: pool, agent: name, owner: owner, template: template, cloneFrom: body.cloneFrom) else {
                    try await Events.record(c, kind: "Agent", name: name, reason: "Waiting", message: "no idle instance; the agent binds when one is ready")
                    return ClaimResponse(agent: name, instanceId: nil, url: nil, status: "Pending")
                }
                status.phase = .provisioning
                status.instanceId = claimed.instanceID
                status.url = claimed.url
                _ = try await c.query("UPDATE pool.agents SET status = $2::jsonb WHERE name = $1", [name, try JSONValue.from(status).jsonText])
                try await Events.record(c, kind: "Agent", name: name, reason: "Claimed", message: "bound to \(claimed.instanceID)")
                return ClaimResponse(agent: name, instanceId: claimed.instanceID, url: claimed.url, status: "Claimed")
            }
            wake()
            metrics.increment("convos_claims_total", ["result": result.instanceId == nil ? "waiting" : "bound"])
            metrics.observe("convos_claim_duration_seconds", seconds: Metrics.seconds(ContinuousClock.now - started))
            return .json(result, status: result.instanceId == nil ? 202 : 200)
        }
    }
}
