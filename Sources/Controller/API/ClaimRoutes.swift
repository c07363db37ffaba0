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
            let name = "agent-" + InstanceID.make()
            let claim = try await Claims.claimNew(store.db, agent: name, template: template, owner: owner, cloneFrom: body.cloneFrom)
            guard claim.accepted else {
                if !claim.templateExists {
                    throw StoreError.unprocessable("agenttemplate/\(template) does not exist", [FieldError("templateId", "agenttemplate/\(template) does not exist")])
                }
                let parent = body.cloneFrom ?? ""
                if claim.parentOwner == nil {
                    throw StoreError.unprocessable("agent/\(parent) does not exist", [FieldError("cloneFrom", "agent/\(parent) does not exist")])
                }
                throw StoreError.unprocessable("agent/\(parent) belongs to another owner", [FieldError("cloneFrom", "only the owner of agent/\(parent) may clone it")])
            }
            let result = ClaimResponse(agent: name, instanceId: claim.instanceID, url: claim.url, status: claim.instanceID == nil ? "Pending" : "Claimed")
            // The middleware wakes the reconciler after every accepted POST, this one included.
            metrics.increment("convos_claims_total", ["result": result.instanceId == nil ? "waiting" : "bound"])
            metrics.observe("convos_claim_duration_seconds", seconds: Metrics.seconds(ContinuousClock.now - started))
            return .json(result, status: result.instanceId == nil ? 202 : 200)
        }
    }
}
