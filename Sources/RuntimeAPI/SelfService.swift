import Foundation
import HTTPServer
import Postgres
import Providers
import Reconcile
import Resources
import Services
import Store
import Sync
import Telemetry

/// What a runtime may do to itself, on `POOL_URL` (CONTRACT.md section 8, today's pool's wire
/// shapes, `runtime-head.md` section 3a): body routes `{instanceId, gatewayToken, ...}` under the
/// low-trust rules of `InstanceCalls`. Each route acts on the caller's own instance only; which
/// instance, key, inbox or pool comes from our rows, never from the request.
public struct SelfService: Sendable {
    let calls: InstanceCalls
    let store: ResourceStore
    let waker: any Waker
    let attestation: AttestationKey?
    let clock: any Clock

    public init(db: PostgresPool, services: InProcessServices, store: ResourceStore, waker: any Waker, metrics: Metrics,
                attestation: AttestationKey?, clock: any Clock, perMinute: Int = 60) {
        self.calls = InstanceCalls(db: db, services: services, metrics: metrics, limiter: CallLimiter(capacity: perMinute, clock: clock))
        self.store = store
        self.waker = waker
        self.attestation = attestation
        self.clock = clock
    }

    /// The routes, each under `/api/pool/`.
    public static let routes = ["self-info", "self-upgrade", "self-destruct", "credits-check", "credits-topup", "redeem-coupon", "attest",
                                "pending-acceptance/complete", "pending-acceptance/fail"]

    func add(_ router: inout Router) {
        let service = self
        for route in Self.routes {
            router.add("POST", "/api/pool/" + route) { request in
                let result = try await service.calls.authenticate(request, route: route, claimedOnly: route != "self-info")
                switch result {
                case .refused(let refusal): return refusal
                case .caller(let caller): return try await service.handle(route, caller)
                }
            }
        }
        router.add("GET", "/.well-known/agents.json") { _ in
            let body = (try? JSONSerialization.data(withJSONObject: attestation?.jwks ?? ["keys": [Any]()], options: [.sortedKeys])) ?? Data()
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "public, max-age=300")], body: body)
        }
    }

    private func handle(_ route: String, _ caller: Caller) async throws -> HTTPResponse {
        switch route {
        case "self-info": return try await selfInfo(caller)
        case "self-upgrade": return try await selfUpgrade(caller)
        case "self-destruct": return try await selfDestruct(caller)
        case "credits-check": return try await creditsCheck(caller)
        case "credits-topup": return try await creditsTopUp(caller)
        case "redeem-coupon": return try await redeemCoupon(caller)
        case "attest": return try await attest(caller)
        case "pending-acceptance/complete": return try await settle(caller, accepted: true)
        default: return try await settle(caller, accepted: false)
        }
    }

    /// `{ok, instanceId, runtimeVersion, runtimeImage, latestImage}`: what it runs, and what its pool deploys now.
    private func selfInfo(_ caller: Caller) async throws -> HTTPResponse {
        let row = try await calls.db.query("""
            SELECT i.image_digest, h.runtime_version, p.spec->>'image' AS latest FROM pool.instances i
            LEFT JOIN pool.instance_health h USING (instance_id) LEFT JOIN pool.pools p ON p.name = i.pool WHERE i.instance_id = $1
            """, [caller.instance]).first
        let latest: String? = try row?.decode("latest")
        let digest: String? = try row?.decode("image_digest")
        let image = latest.flatMap(ImageReference.init).flatMap { ref in digest.map { "\(ref.registry)/\(ref.repository)@\($0)" } }
        return await calls.answer(caller, route: "self-info", reason: "SelfInfo", message: "read its runtime's information", [
            "ok": .bool(true), "instanceId": .string(caller.instance), "runtimeVersion": try row?.decode("runtime_version", as: String?.self).map(JSONValue.string) ?? .null,
            "runtimeImage": image.map(JSONValue.string) ?? .null, "latestImage": latest.map(JSONValue.string) ?? .null,
        ])
    }

    /// The runtime moves to its pool's current digest now, through the rollout's path (CONTRACT.md
    /// section 3): the reconciler upgrades it at its next tick, whatever the rollout's pace or pause,
    /// with the same gates (ready on the new version, its own conversation) and the same rollback.
    private func selfUpgrade(_ caller: Caller) async throws -> HTTPResponse {
        let row = try await calls.db.query("""
            SELECT p.spec->>'image' AS image, p.status->>'imageDigest' AS digest FROM pool.pools p WHERE p.name = $1
            """, [caller.pool]).first
        guard let spec: String = try row?.decode("image"), let reference = ImageReference(spec),
              let digest: String = try row?.decode("digest") else {
            return calls.refuse("self-upgrade", "unavailable", 503, "the pool's image has not been resolved yet; retry shortly")
        }
        let image = "\(reference.registry)/\(reference.repository)@\(digest)"
        let asked = try await calls.db.query("""
            UPDATE pool.instances SET upgrade_requested_at = now(), updated_at = now()
            WHERE instance_id = $1 AND state = 'claimed' AND image_digest IS DISTINCT FROM $2 RETURNING instance_id
            """, [caller.instance, digest])
        let message = asked.isEmpty ? "asked to upgrade; already on \(digest)" : "asked to upgrade its runtime to \(digest)"
        return await calls.answer(caller, route: "self-upgrade", reason: "SelfUpgrade", message: message,
                                  ["ok": .bool(true), "instanceId": .string(caller.instance), "image": .string(image)])
    }

    /// The agent is deleted, as `DELETE /v1/agents/NAME`: the ordered teardown follows.
    private func selfDestruct(_ caller: Caller) async throws -> HTTPResponse {
        guard let agent = caller.agent else { return calls.refuse("self-destruct", "unclaimed", 403, "instance is not claimed") }
        await calls.record(caller, reason: "SelfDestruct", message: "the agent asked to be deleted; tearing down")
        _ = try await store.delete(.agent, agent)
        waker.wake()
        calls.count("self-destruct", "ok")
        return InstanceCalls.json(["ok": .bool(true)])
    }

    /// `{limit, usage, remaining, limitReset}` of its own key, read from OpenRouter.
    private func creditsCheck(_ caller: Caller) async throws -> HTTPResponse {
        let credits: KeyCredits
        do { credits = try await calls.services.credits(caller.instance) } catch let error as ServicesError {
            return calls.refuse("credits-check", "failed", error.status == 404 ? 404 : 502, "credits unavailable: \(error.message)")
        }
        let limit = credits.limit ?? 0
        return await calls.answer(caller, route: "credits-check", reason: "CreditsChecked", message: "read its credits", [
            "limit": .double(limit), "usage": .double(credits.usage), "remaining": .double(max(0, limit - credits.usage)),
            "limitReset": credits.limitReset.map(JSONValue.string) ?? .null,
        ])
    }

    /// Raises its key's limit by the template's `openrouter.topUp` (20 up to 100 without one).
    private func creditsTopUp(_ caller: Caller) async throws -> HTTPResponse {
        let policy = caller.template?.openrouter?.topUp ?? .default
        let result: InProcessServices.LimitRaise
        do {
            result = try await calls.services.raiseLimit(caller.instance, source: "topup", increment: policy.incrementUsd, max: policy.maxUsd,
                                                         perDay: policy.perDay)
        } catch let error as ServicesError {
            return calls.refuse("credits-topup", "failed", error.status == 404 ? 404 : 502, "top-up failed: \(error.message)")
        }
        switch result {
        case .raised(let previous, let new):
            return await calls.answer(caller, route: "credits-topup", reason: "CreditsToppedUp",
                                      message: "raised its OpenRouter limit from \(OpenRouterSettings.format(previous)) to \(OpenRouterSettings.format(new)) USD",
                                      ["ok": .bool(true), "previousLimit": .double(previous), "newLimit": .double(new)])
        case .atCap(let limit, let max):
            await calls.record(caller, reason: "CreditsTopUpRefused", message: "at the maximum of \(OpenRouterSettings.format(max)) USD", type: "Warning")
            return calls.refuse("credits-topup", "at_cap", 409, "Credits are already at the maximum", extra: ["limit": .double(limit), "max": .double(max)])
        case .tooOften(let wait):
            await calls.record(caller, reason: "CreditsTopUpRefused", message: "more than \(policy.perDay ?? 0) top-ups in a day", type: "Warning")
            var response = calls.refuse("credits-topup", "too_often", 429, "at most \(policy.perDay ?? 0) top-ups a day")
            response.headers.append(("Retry-After", String(wait.components.seconds)))
            return response
        }
    }

    /// Ed25519 over sha256(inboxId + timestamp), only for the runtime's own XMTP inbox id.
    private func attest(_ caller: Caller) async throws -> HTTPResponse {
        guard case .string(let inbox)? = caller.body["inboxId"], !inbox.isEmpty else {
            return calls.refuse("attest", "invalid", 400, "inboxId is required")
        }
        guard let attestation else { return calls.refuse("attest", "unavailable", 503, "attestation is not configured (ATTESTATION_PRIVATE_KEY_PEM)") }
        let own: String?
        do { own = try await calls.services.conversationState(caller.instance)?.inboxId } catch let error as ServicesError {
            return calls.refuse("attest", "failed", 502, "the runtime's own inbox id could not be read: \(error.message)")
        }
        guard let own, ConstantTime.equal(own, inbox) else {
            await calls.record(caller, reason: "AttestationRefused", message: "asked for an inbox id that is not its own", type: "Warning")
            return calls.refuse("attest", "forbidden", 403, "inboxId is not this runtime's own XMTP inbox")
        }
        let signed = attestation.attest(inboxId: inbox, now: clock.now)
        return await calls.answer(caller, route: "attest", reason: "Attested", message: "attestation for inbox \(inbox), key \(signed.kid)", [
            "attestation": .string(signed.signature), "attestation_ts": .string(signed.timestamp), "attestation_kid": .string(signed.kid),
        ])
    }

    /// The hermes harness's word on a join that waited for the owner: accepted (with its
    /// conversation) or refused.
    private func settle(_ caller: Caller, accepted: Bool) async throws -> HTTPResponse {
        let route = accepted ? "pending-acceptance/complete" : "pending-acceptance/fail"
        guard let agent = caller.agent else { return calls.refuse(route, "unclaimed", 403, "instance is not claimed") }
        var conversation: String?
        if accepted {
            if case .string(let given)? = caller.body["conversationId"], !given.isEmpty { conversation = given }
            if conversation == nil { conversation = try? await calls.services.conversationState(caller.instance)?.conversationId }
            guard conversation != nil else { return calls.refuse(route, "invalid", 400, "conversationId is required") }
        }
        let settled = try await calls.db.transaction { c in
            try await InstanceWrites.settleAcceptance(c, agent: agent, instance: caller.instance, conversationId: conversation,
                                                      by: "the runtime's callback")
        }
        guard settled else { return calls.refuse(route, "conflict", 409, "no join of this instance is waiting for acceptance") }
        waker.wake()
        calls.count(route, "ok")
        return InstanceCalls.json(["ok": .bool(true)])
    }
}
