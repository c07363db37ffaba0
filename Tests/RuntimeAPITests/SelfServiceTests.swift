import Foundation
import Testing
import Postgres
import RuntimeAPI
import AppTestSupport
import TestSupport

/// The runtime's self-service routes (CONTRACT.md section 8), each called with the runtime's own
/// body: the right answer for its own instance; 403 for a wrong token or another instance's id,
/// changing nothing; 400 without a field; 429 past the per-instance limit; an event per call.
@Suite struct SelfServiceTests {
    static let template = """
        apiVersion: agents.convos.org/v1
        kind: AgentTemplate
        metadata: {name: thrifty}
        spec:
          agentName: Thrifty
          instructions: Spend little.
          openrouter: {limitUsd: 10, topUp: {incrementUsd: 15, maxUsd: 40, perDay: 1}}
        """
    /// A fixed Ed25519 key in PKCS#8 PEM (RFC 8032's first test seed).
    static let seedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static var pem: String {
        let seed = stride(from: 0, to: seedHex.count, by: 2).map { i -> UInt8 in
            let start = seedHex.index(seedHex.startIndex, offsetBy: i)
            return UInt8(seedHex[start..<seedHex.index(start, offsetBy: 2)], radix: 16)!
        }
        let der: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20] + seed
        return "-----BEGIN PRIVATE KEY-----\n\(Data(der).base64EncodedString())\n-----END PRIVATE KEY-----\n"
    }

    struct Claimed { let agent: String; let instance: String; let token: String }

    func start(perMinute: Int = 60) async throws -> TestController {
        let t = try await TestController.start(simulate: true) { c in
            c.attestationPEM = Self.pem
            c.attestationKID = "test-kid"
            c.runtimeCallsPerMinute = perMinute
        }
        _ = try await t.apply(Specs.join(Specs.poolSized(2, max: 6), Self.template))
        try await eventually("2 idle") { try await t.idle() == 2 }
        return t
    }

    func claim(_ t: TestController, owner: String = "u1") async throws -> Claimed {
        let body = try await t.claim("thrifty", owner: owner).json()
        let agent = try #require(body["agent"] as? String), instance = try #require(body["instanceId"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        return Claimed(agent: agent, instance: instance, token: try await t.gatewayToken(instance))
    }

    func events(_ t: TestController, _ agent: String) async throws -> [String] {
        try await t.controller.db.query("SELECT reason FROM pool.events WHERE kind = 'Agent' AND name = $1 ORDER BY id", [agent]).rows
            .map { try $0.decode("reason") }
    }

    /// Credentials: the instance's own pair only; a wrong token, another instance's id, or none
    /// changes nothing; an idle instance may read self-info and nothing else.
    @Test func credentialsAreScopedToTheInstance() async throws {
        let t = try await start()
        let a = try await claim(t)
        let idle: String = try await t.controller.db.query("SELECT instance_id FROM pool.instances WHERE state = 'idle'").first!.decode("instance_id")
        let idleToken = try await t.gatewayToken(idle)
        let before = try await t.rowCounts()
        let wrong = try await t.selfService("self-destruct", instance: a.instance, token: "not-the-token")
        #expect(try wrong.status == 403 && (wrong.json()["error"] as? String) == "Invalid credentials")
        let crossed = try await t.selfService("self-destruct", instance: a.instance, token: idleToken)
        #expect(crossed.status == 403, "another instance's token")
        let missing = try await t.client.send("POST", "/api/pool/self-destruct", body: Data(#"{"instanceId":"x"}"#.utf8),
                                              headers: ["Content-Type": "application/json"])
        #expect(try missing.status == 400 && (missing.json()["error"] as? String)?.contains("gatewayToken") == true)
        let unclaimed = try await t.selfService("credits-topup", instance: idle, token: idleToken)
        #expect(unclaimed.status == 403)
        let info = try await t.selfService("self-info", instance: idle, token: idleToken)
        #expect(try info.status == 200 && (info.json()["instanceId"] as? String) == idle)
        #expect(try await t.rowCounts() == before, "nothing changed")
        #expect(try await t.phase(a.agent) == "Ready")
        await t.stop()
    }

    /// self-info tells the runtime its version, its image and its pool's latest image.
    @Test func selfInfo() async throws {
        let t = try await start()
        let a = try await claim(t)
        try await eventually("the version recorded") {
            try await t.controller.db.query("SELECT runtime_version FROM pool.instance_health WHERE instance_id = $1", [a.instance])
                .first?.decode("runtime_version", as: String?.self) == "sim-1"
        }
        let info = try await t.selfService("self-info", instance: a.instance, token: a.token).json()
        #expect(info["ok"] as? Bool == true && info["runtimeVersion"] as? String == "sim-1")
        #expect((info["runtimeImage"] as? String)?.hasPrefix("ghcr.io/xmtplabs/convos-runtime@sha256:") == true)
        #expect(info["latestImage"] as? String == "ghcr.io/xmtplabs/convos-runtime:production")
        #expect(try await events(t, a.agent).contains("SelfInfo"))
        await t.stop()
    }

    /// credits-check reads the key's limit and usage from OpenRouter; top-up raises it by the
    /// template's increment, stops at its max (409, checked first) and past perDay (429).
    @Test func creditsCheckAndTopUpWithinThePolicy() async throws {
        let t = try await start()
        let a = try await claim(t)
        let check = try await t.selfService("credits-check", instance: a.instance, token: a.token).json()
        #expect(check["limit"] as? Double == 10 && check["usage"] as? Double == 0 && check["remaining"] as? Double == 10)
        let up = try await t.selfService("credits-topup", instance: a.instance, token: a.token)
        #expect(up.status == 200)
        let upBody = try up.json()
        #expect(upBody["previousLimit"] as? Double == 10 && upBody["newLimit"] as? Double == 25)
        let again = try await t.selfService("credits-topup", instance: a.instance, token: a.token)
        #expect(again.status == 429 && again.header("retry-after") != nil, "one top-up a day")
        #expect(try await t.selfService("credits-check", instance: a.instance, token: a.token).json()["limit"] as? Double == 25)
        // At the cap: 409 before the day's count.
        _ = try await t.controller.db.query("DELETE FROM services.credit_grants")
        #expect(try await t.selfService("credits-topup", instance: a.instance, token: a.token).json()["newLimit"] as? Double == 40)
        _ = try await t.controller.db.query("DELETE FROM services.credit_grants")
        let capped = try await t.selfService("credits-topup", instance: a.instance, token: a.token)
        let cappedBody = try capped.json()
        #expect(capped.status == 409 && cappedBody["max"] as? Double == 40 && cappedBody["limit"] as? Double == 40)
        // The raised limit is the agent's own: later ticks (and the resync each second) keep it.
        let ticks = await t.controller.reconciler.snapshot.ticks
        try await eventually("ten ticks later") { await t.controller.reconciler.snapshot.ticks >= ticks + 10 }
        #expect(try await t.selfService("credits-check", instance: a.instance, token: a.token).json()["limit"] as? Double == 40)
        #expect(try await events(t, a.agent).filter { $0 == "CreditsToppedUp" }.count == 2)
        await t.stop()
    }

    /// attest signs the runtime's own inbox id (verified against the JWKS) and refuses another's.
    @Test func attestationOfTheOwnInboxOnly() async throws {
        let t = try await start()
        let a = try await claim(t)
        let b = try await claim(t, owner: "u2")
        func inbox(_ instance: String) async throws -> String {
            let service: String = try await t.controller.db.query("SELECT railway_service_id FROM services.instances WHERE instance_id = $1", [instance])
                .first!.decode("railway_service_id")
            let token = try await t.gatewayToken(instance)
            let status = try await TestHTTPClient(base: t.controller.simulator!.baseURL).send("GET", "/runtime/\(service)/convos/status",
                                                                                                headers: ["Authorization": "Bearer \(token)"])
            return try #require(try status.json()["inboxId"] as? String)
        }
        let own = try await inbox(a.instance)
        let signed = try await t.selfService("attest", instance: a.instance, token: a.token, ["inboxId": own]).json()
        let signature = try #require(signed["attestation"] as? String)
        let ts = try #require(signed["attestation_ts"] as? String)
        #expect(signed["attestation_kid"] as? String == "test-kid")
        let jwks = try await t.client.get("/.well-known/agents.json").json()
        let key = try #require((jwks["keys"] as? [[String: Any]])?.first)
        #expect(key["kid"] as? String == "test-kid" && key["crv"] as? String == "Ed25519")
        let x = try #require(key["x"] as? String)
        let publicKey = try #require(AttestationKey.fromBase64url(x))
        #expect(AttestationKey.verify(publicKey: publicKey, inboxId: own, timestamp: ts, signature: signature))
        #expect(!AttestationKey.verify(publicKey: publicKey, inboxId: own + "x", timestamp: ts, signature: signature))
        let other = try await t.selfService("attest", instance: a.instance, token: a.token, ["inboxId": try await inbox(b.instance)])
        #expect(other.status == 403, "another runtime's inbox id")
        #expect(try await t.selfService("attest", instance: a.instance, token: a.token).status == 400, "no inboxId")
        await t.stop()
    }

    /// self-destruct deletes the agent with the ordered teardown: nothing of the instance is left
    /// in the ledger, removed in the seed's order, and an event says who asked.
    @Test func selfDestructTearsDownInOrder() async throws {
        let t = try await start()
        let a = try await claim(t)
        let answer = try await t.selfService("self-destruct", instance: a.instance, token: a.token)
        #expect(try answer.status == 200 && (answer.json()["ok"] as? Bool) == true)
        try await eventually("the agent gone") { try await t.count("SELECT count(*)::int AS n FROM pool.agents WHERE name = $1", [a.agent]) == 0 }
        let name = "convos-agent-\(a.instance)"
        #expect(await t.controller.simulator!.ledger().filter { $0.name == name }.isEmpty)
        let deletes = await t.controller.simulator!.events().filter { $0.name == name && $0.action == "delete" }.map(\.provider)
        #expect(deletes.first == "openrouter" && deletes.last == "railway", "\(deletes)")
        let asked = try await t.controller.db.query("SELECT message FROM pool.events WHERE name = $1 AND reason = 'SelfDestruct'", [a.agent]).first
        #expect(try asked?.decode("message", as: String.self).contains("asked by its runtime") == true)
        await t.stop()
    }

    /// Past the per-instance limit: 429 with Retry-After, for that instance only.
    @Test func callsAreLimitedPerInstance() async throws {
        let t = try await start(perMinute: 3)
        let a = try await claim(t)
        let b = try await claim(t, owner: "u2")
        for _ in 0..<3 { #expect(try await t.selfService("self-info", instance: a.instance, token: a.token).status == 200) }
        let limited = try await t.selfService("self-info", instance: a.instance, token: a.token)
        #expect(limited.status == 429 && Int(limited.header("retry-after") ?? "") ?? 0 >= 1)
        #expect(try await t.selfService("self-info", instance: b.instance, token: b.token).status == 200, "another instance is not held back")
        let metrics = try await t.client.get("/metrics").text
        #expect(metrics.contains(#"convos_runtime_calls_total{outcome="limited",route="self-info"} 1"#))
        await t.stop()
    }

    /// self-upgrade moves the runtime to its pool's current digest in one deployment, through the
    /// rollout's path: even where the pool's rollout never moves claimed agents, with its gates
    /// (the agent Upgrading, then Ready on the new digest with its conversation).
    @Test func selfUpgradeDeploysThePoolsDigest() async throws {
        let t = try await start()
        _ = try await t.apply("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: default}
            spec: {minIdle: 2, maxInstances: 6, image: "ghcr.io/xmtplabs/convos-runtime:production", rollout: {claimed: Never}}
            """)
        let a = try await claim(t)
        let moved = await t.controller.simulator!.moveTag(repository: "xmtplabs/convos-runtime", tag: "production")
        try await eventually("the pool on the new digest") {
            try await t.controller.db.query("SELECT status->>'imageDigest' AS d FROM pool.pools WHERE name = 'default'").first?.decode("d", as: String?.self) == moved
        }
        let before = try await t.runtimeRecord(a.instance)["deployments"] as? Int ?? 0
        let answer = try await t.selfService("self-upgrade", instance: a.instance, token: a.token)
        #expect(try answer.status == 200 && (answer.json()["image"] as? String)?.hasSuffix(moved) == true)
        try await eventually("Ready on the new digest") {
            let digest: String? = try await t.controller.db.query("SELECT image_digest FROM pool.instances WHERE instance_id = $1", [a.instance])
                .first?.decode("image_digest")
            return try await t.phase(a.agent) == "Ready" && digest == moved
        }
        let record = try await t.runtimeRecord(a.instance)
        #expect(record["deployments"] as? Int == before + 1 && (record["image"] as? String)?.hasSuffix(moved) == true)
        let said = try await events(t, a.agent)
        #expect(said.contains("SelfUpgrade") && said.contains("Upgrading") && said.contains("Upgraded"))
        await t.stop()
    }

    /// A Coupon's code is write-only (no GET shows it or its hash); an agent redeems a live one
    /// once (compared trimmed and ignoring case), never past maxRedemptions or the coupon's max;
    /// unknown and expired codes are 404.
    @Test func couponsAreRedeemedOncePerAgentWithinTheirLimits() async throws {
        let t = try await start()
        let refused = try await t.apply("""
            apiVersion: agents.convos.org/v1
            kind: Coupon
            metadata: {name: nocode}
            spec: {incrementUsd: 10, maxUsd: 60}
            """)
        #expect(refused.status == 400 && refused.detailPaths == ["spec.code"])
        let applied = try await t.apply("""
            apiVersion: agents.convos.org/v1
            kind: Coupon
            metadata: {name: launch-week}
            spec: {code: LAUNCH-2026, incrementUsd: 10, maxUsd: 30, maxRedemptions: 1, expiresAt: "2099-12-31T00:00:00Z"}
            ---
            apiVersion: agents.convos.org/v1
            kind: Coupon
            metadata: {name: old}
            spec: {code: OLD-CODE, incrementUsd: 10, maxUsd: 60, expiresAt: "2020-01-01T00:00:00Z"}
            """)
        #expect(applied.actions == ["coupon/launch-week created", "coupon/old created"], "\(applied.text)")
        let shown = try await t.client.get("/v1/coupons/launch-week").text
        #expect(!shown.contains("LAUNCH-2026") && !shown.contains("codeSha256") && shown.contains("incrementUsd"))
        let kube = try await t.client.get("/apis/agents.convos.org/v1/coupons/launch-week").text
        #expect(!kube.contains("LAUNCH-2026") && !kube.contains("codeSha256"))
        let a = try await claim(t)
        let b = try await claim(t, owner: "u2")
        #expect(try await t.selfService("redeem-coupon", instance: a.instance, token: a.token, ["code": "nope"]).status == 404)
        #expect(try await t.selfService("redeem-coupon", instance: a.instance, token: a.token, ["code": "OLD-CODE"]).status == 404, "expired")
        #expect(try await t.selfService("redeem-coupon", instance: a.instance, token: a.token).status == 400)
        let redeemed = try await t.selfService("redeem-coupon", instance: a.instance, token: a.token, ["code": "  launch-2026 "])
        let body = try redeemed.json()
        #expect(redeemed.status == 200 && body["previousLimit"] as? Double == 10 && body["newLimit"] as? Double == 20)
        #expect(try await t.selfService("redeem-coupon", instance: a.instance, token: a.token, ["code": "LAUNCH-2026"]).status == 409, "once per agent")
        #expect(try await t.selfService("redeem-coupon", instance: b.instance, token: b.token, ["code": "LAUNCH-2026"]).status == 409, "maxRedemptions 1")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.coupon_redemptions") == 1)
        #expect(try await t.selfService("credits-check", instance: b.instance, token: b.token).json()["limit"] as? Double == 10, "b unchanged")
        await t.stop()
    }

    /// Every route, with the runtime's own body shape: 403 for a wrong token and for another
    /// instance's token, 400 without the credentials, nothing stored changed; and once the
    /// instance's calls are used up, 429 with `Retry-After` on every route.
    @Test func everyRouteRefusesWrongCredentialsAndHonoursTheLimit() async throws {
        let t = try await start(perMinute: 2)
        let a = try await claim(t)
        let b = try await claim(t, owner: "u2")
        let before = try await t.rowCounts()
        // Every event a runtime's call records says so; the pool's refills write events of their own meanwhile.
        let calls = "SELECT count(*)::int AS n FROM pool.events WHERE message LIKE '%asked by its runtime%'"
        let events = try await t.count(calls)
        for route in SelfService.routes {
            let extra: [String: Any] = ["inboxId": "inbox_x", "code": "X-CODE", "conversationId": "conv_x"]
            #expect(try await t.selfService(route, instance: a.instance, token: "wrong", extra).status == 403, "\(route): wrong token")
            #expect(try await t.selfService(route, instance: a.instance, token: b.token, extra).status == 403, "\(route): another instance's token")
            let bare = try await t.client.send("POST", "/api/pool/\(route)", body: Data(#"{"instanceId":"\#(a.instance)"}"#.utf8),
                                               headers: ["Content-Type": "application/json"])
            #expect(try bare.status == 400 && (bare.json()["error"] as? String) != nil, "\(route): no gatewayToken")
        }
        #expect(try await t.rowCounts() == before)
        #expect(try await t.count(calls) == events, "a refused call records nothing")
        for _ in 0..<2 { _ = try await t.selfService("self-info", instance: a.instance, token: a.token) }
        for route in SelfService.routes {
            let limited = try await t.selfService(route, instance: a.instance, token: a.token)
            #expect(limited.status == 429 && limited.header("retry-after") != nil, "\(route): past the limit")
        }
        #expect(try await t.phase(a.agent) == "Ready", "self-destruct past the limit did nothing")
        await t.stop()
    }
}
