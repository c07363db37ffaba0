import Foundation
import HTTPServer
import Postgres
import Reconcile
import Resources
import Store
import Telemetry

/// `POST /api/pool/claim[?wait=SECONDS]`: the seed's claim. It binds an idle instance to a new
/// agent in one statement, then waits (up to `CLAIM_WAIT`, or `wait`) for the reconciler to
/// configure the runtime, and answers with the invite: 200 with the instance (the invite fields
/// null if the wait ran out), or 202 when the pool is empty and the agent waits for an instance.
/// Without `templateId` it is the seed's old flow: a name and instructions, no per-agent tools.
/// Any replica can serve it: the claim is atomic in the database.
extension ControllerAPI {
    package struct ClaimRequest: Decodable {
        package var templateId: String?
        package var ownerId: String?
        package var agentName: String?
        package var instructions: String?
        package var joinUrl: String?
        package var model: String?
        package var userConfig: [String: String]?
        package var cloneFrom: String?
    }

    package struct ClaimResponse: Encodable {
        package let agent: String
        package let instanceId: String
        package let gatewayUrl: String?
        package let conversation: (conversationId: String?, inviteUrl: String?, joined: Bool)?

        package enum Keys: String, CodingKey { case agent, instanceId, gatewayUrl, inviteUrl, conversationId, joined }

        /// Every field present: null until the runtime is configured, as the contract says.
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(agent, forKey: .agent)
            try c.encode(instanceId, forKey: .instanceId)
            try c.encode(gatewayUrl, forKey: .gatewayUrl)
            try c.encode(conversation?.inviteUrl, forKey: .inviteUrl)
            try c.encode(conversation?.conversationId, forKey: .conversationId)
            try c.encode(conversation?.joined, forKey: .joined)
        }
    }

    package func addClaimRoutes(_ router: inout Router) {
        let store = self.store, metrics = self.metrics, services = self.services
        let waiters = self.claimWaiters, defaultWait = self.claimWait, waker = self.waker, claims = self.claims, claimDB = self.claimDB
        router.add("POST", "/api/pool/claim") { request in
            let started = ContinuousClock.now, waitFrom = waiters.clock.monotonic
            let body = try Self.body(ClaimRequest.self, request, expected: "{\"templateId\"?, \"ownerId\"?, \"agentName\"?, \"instructions\"?, ...}")
            let wait = try Self.claimWait(request, default: defaultWait)
            let spec = AgentSpec(template: body.templateId, owner: body.ownerId, agentName: body.agentName, instructions: body.instructions,
                                 model: body.model, joinUrl: body.joinUrl, cloneFrom: body.cloneFrom)
            try Self.checkFields(spec)
            let name = "agent-" + InstanceID.make()
            // Credentials for user tools are checked against the template, and kept in the services
            // schema before the agent exists, so its first provision finds them. A claim without any
            // (the common case) is checked inside the claim statement: one round trip.
            let userConfig = body.userConfig ?? [:]
            var stored = false
            if !userConfig.isEmpty {
                let template = try await Self.checkUserConfig(spec, userConfig, store: store)
                if template.tools.contains(where: { $0.provisioning == .user }), let services {
                    try await Self.services { try await services.storeUserConfig(agent: name, userConfig) }
                    stored = true
                }
            }
            let claim = try await Claims.claimNew(claimDB, agent: name, spec: spec, userConfigChecked: !userConfig.isEmpty)
            if let refusal = claim.refusal {
                if stored { try? await services?.forgetUserConfig(agent: name) }
                throw try await Self.refusal(refusal, claim, spec, store: store)
            }
            metrics.increment("convos_claims_total", ["result": claim.instanceID == nil ? "waiting" : "bound"])
            metrics.observe("convos_claim_duration_seconds", seconds: Metrics.seconds(ContinuousClock.now - started))
            guard let instance = claim.instanceID else { return .json(["agent": name], status: 202) }
            // The reconciler configures the runtime and provisions its tools: start them now (on the
            // leader). A claim that waits also wakes the loop now (a leader elsewhere, through
            // NOTIFY); one that does not leaves that to the wake-up after every accepted write.
            claims.claimed(agent: name, instance: instance, tools: claim.toolsToStart(spec))
            if wait > .zero { waker.wake() }
            let db = store.db
            let conversation = wait > .zero
                ? try await waiters.wait(for: name, until: waitFrom + wait) { try await Claims.conversation(db, agent: name) }
                : nil
            if conversation != nil { metrics.observe("convos_claim_invite_seconds", seconds: Metrics.seconds(ContinuousClock.now - started)) }
            return .json(ClaimResponse(agent: name, instanceId: instance, gatewayUrl: claim.url, conversation: conversation))
        }
    }

    /// `?wait=SECONDS`, 0 to 300; `CLAIM_WAIT` when absent.
    package static func claimWait(_ request: HTTPRequest, default fallback: Duration) throws -> Duration {
        guard let text = request.query["wait"] else { return fallback }
        guard let seconds = Double(text), seconds >= 0, seconds <= 300 else {
            throw HTTPError.badRequest("wait must be a number of seconds from 0 to 300", details: [.init(path: "wait", message: "must be 0 to 300")])
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// The claim's fields, by the claim's own names (400).
    package static func checkFields(_ spec: AgentSpec) throws {
        let fields = spec.validate().map { e -> FieldError in
            var e = e
            e.path = ["spec.template": "templateId", "spec.owner": "ownerId"][e.path] ?? String(e.path.dropFirst(5))
            return e
        }
        guard fields.isEmpty else { throw HTTPError.badRequest("invalid claim: \(fields[0].description)", details: fields.map(detail)) }
    }

    /// A claim that brings `userConfig`: the template's user tools decide what it must hold (400
    /// naming the key). Without a template, no credentials are expected.
    package static func checkUserConfig(_ spec: AgentSpec, _ userConfig: [String: String], store: ResourceStore) async throws -> AgentTemplateSpec {
        guard let templateID = spec.template else {
            let errors = UserConfig.validate(userConfig, for: [])
            throw HTTPError.badRequest("invalid claim: \(errors[0].description)", details: errors.map(detail))
        }
        let template: AgentTemplateSpec
        do {
            template = try await store.get(.agentTemplate, templateID).spec.decode(AgentTemplateSpec.self)
        } catch StoreError.notFound {
            throw refusalError(.template, nil, spec)
        }
        // Refused for the template's own rules before the credentials are looked at, or kept.
        if template.visibility == .private, let creator = template.creator, creator != spec.owner { throw refusalError(.private, nil, spec) }
        if spec.model != nil, template.model?.allowOverride != true { throw refusalError(.model, nil, spec) }
        let errors = UserConfig.validate(userConfig, for: template.tools)
        guard errors.isEmpty else { throw HTTPError.badRequest("invalid claim: \(errors[0].description)", details: errors.map(detail)) }
        return template
    }

    /// Why the claim statement wrote nothing, as the contract's error: 422 naming the field, or,
    /// for user tools without credentials, the 400 naming each missing key.
    package static func refusal(_ refusal: Claims.Refusal, _ claim: Claims.NewClaim, _ spec: AgentSpec, store: ResourceStore) async throws -> any Error {
        guard refusal == .userConfig, let templateID = spec.template,
              let template = try? await store.get(.agentTemplate, templateID).spec.decode(AgentTemplateSpec.self) else {
            return refusalError(refusal, claim.parentOwner, spec)
        }
        let errors = UserConfig.validate([:], for: template.tools)
        return HTTPError.badRequest("invalid claim: \(errors.first?.description ?? "userConfig is required")", details: errors.map(detail))
    }

    package static func refusalError(_ refusal: Claims.Refusal, _ parentOwner: String?, _ spec: AgentSpec) -> StoreError {
        let template = spec.template ?? ""
        let parent = spec.cloneFrom ?? ""
        switch refusal {
        case .template:
            return StoreError.unprocessable("agenttemplate/\(template) does not exist", [FieldError("templateId", "agenttemplate/\(template) does not exist")])
        case .private:
            return StoreError.unprocessable("agenttemplate/\(template) is private to its creator", [FieldError("templateId", "private: only its creator may claim it")])
        case .model:
            return StoreError.unprocessable("agenttemplate/\(template) does not allow another model", [FieldError("model", "the template does not allow override")])
        case .userConfig:
            return StoreError.unprocessable("agenttemplate/\(template) needs userConfig", [FieldError("userConfig", "required by the template's provisioning: user tools")])
        case .clone where parentOwner == nil:
            return StoreError.unprocessable("agent/\(parent) does not exist", [FieldError("cloneFrom", "agent/\(parent) does not exist")])
        case .clone:
            return StoreError.unprocessable("agent/\(parent) belongs to another owner", [FieldError("cloneFrom", "only the owner of agent/\(parent) may clone it")])
        }
    }
}
