import Foundation
import Testing
import Postgres
import Resources
import Simulator
import AppTestSupport
import TestSupport

/// The runtime's pool protocol end to end (CONTRACT section 6): instances idle only once the runtime
/// says ready, claims configured through `/pool/provision` with the runtime's own key, tools handed
/// over without a deployment, and the seed's old claim flow.
@Suite struct RuntimeProtocolTests {
    static let allTools = """
        apiVersion: agents.convos.org/v1
        kind: AgentTemplate
        metadata: {name: concierge}
        spec:
          agentName: Concierge
          instructions: You help the user plan their week.
          model: {default: anthropic/claude-sonnet-4}
          tools: [{id: email}, {id: sms, options: {country: US}}, {id: crypto}]
        """

    func instance(_ t: TestController, agent: String) async throws -> String {
        try await t.controller.db.query("SELECT instance_id FROM pool.instances WHERE agent = $1", [agent]).first!.decode("instance_id")
    }

    /// Deployed is not ready: an instance stays provisioning until `/pool/health` says ready, then
    /// turns idle; one that never does is replaced after the stuck timeout.
    @Test func idleOnlyOnceTheRuntimeIsReadyAndTheStuckAreReplaced() async throws {
        var cloud = TestController.fastCloud
        cloud.healthDelay = .seconds(3600)
        var settings = TestController.fastReconciler
        settings.planner.stuckAfter = 8
        let t = try await TestController.start(simulate: true, reconciler: settings, cloud: cloud)
        _ = try await t.apply(Specs.poolSized(1, max: 3))
        try await eventually("an instance") { try await t.count("SELECT count(*)::int AS n FROM pool.instances") == 1 }
        let first: String = try #require(try await t.controller.db.query("SELECT instance_id FROM pool.instances").first).decode("instance_id")
        let services = t.controller.services
        try await eventually("its deploy succeeded") { try await services.observe([first]).statuses[first]?.deployStatus == .success }
        #expect(try await services.observe([first]).statuses[first]?.state == .unreachable)
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'provisioning'") == 1, "deployed, not ready: provisioning")
        // The runtime turns ready.
        cloud.healthDelay = .zero
        await t.controller.simulator!.setOptions(cloud)
        try await eventually("idle once ready") {
            try await t.count("SELECT count(*)::int AS n FROM pool.instances JOIN pool.instance_health USING (instance_id) WHERE instance_id = $1 AND state = 'idle' AND health = 'healthy'", [first]) == 1
        }

        // From now on runtimes never turn ready: the next instance is replaced after the stuck timeout.
        cloud.healthDelay = .seconds(3600)
        await t.controller.simulator!.setOptions(cloud)
        _ = try await t.apply(Specs.poolSized(2, max: 3))
        try await eventually("a stuck instance replaced", timeout: .seconds(30)) {
            try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'NotReadyInTime'") >= 1
        }
        #expect(try await t.idle() == 1, "the stuck one never counted as idle")
        try await eventually("replaced: torn down and created again") {
            let events = try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'TornDown' AND message = 'Failed'")
            let provisioning = try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'provisioning'")
            return events >= 1 && provisioning >= 1
        }
        await t.stop()
    }

    /// The claim answers with the invite the runtime made; the runtime saw the template's name and
    /// instructions with its own key, never a token of the controller's; the claim deployed nothing.
    @Test func claimConfiguresTheRuntimeWithItsOwnKeyAndDeploysNothing() async throws {
        let t = try await TestController.start(token: "ctl-token", simulate: true) { c in c.poolAPIKey = "pool-key" }
        let auth = ["Authorization": "Bearer ctl-token"]
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Self.allTools), headers: auth)
        try await eventually("1 idle") { try await t.idle() == 1 }
        let claim = try await t.claim("concierge", owner: "u1", headers: ["Authorization": "Bearer pool-key"])
        #expect(claim.status == 200)
        let body = try claim.json()
        let agent = try #require(body["agent"] as? String)
        let instance = try #require(body["instanceId"] as? String)
        let invite = try #require(body["inviteUrl"] as? String)
        #expect(invite.hasPrefix("https://convos.org/invite/") && body["joined"] as? Bool == false)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        let status = try await t.client.get("/v1/agents/\(agent)", headers: auth).json()["status"] as? [String: Any] ?? [:]
        #expect(status["inviteUrl"] as? String == invite && status["conversationId"] as? String == body["conversationId"] as? String)
        let configured = (status["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "Configured" }
        #expect(configured?["status"] as? String == "True")

        let record = try await t.runtimeRecord(instance)
        let provisions = record["provisions"] as? [[String: Any]] ?? []
        #expect(provisions.count == 1)
        #expect(provisions.first?["agentName"] as? String == "Concierge")
        #expect(provisions.first?["instructions"] as? String == "You help the user plan their week.")
        let key: String = try await t.controller.db.query("SELECT runtime_key FROM services.instances WHERE instance_id = $1", [instance])
            .first!.decode("runtime_key")
        #expect(record["bearers"] as? [String] == [key], "only the runtime's own key, never ctl-token or pool-key")
        // Every tool reached the running agent through restart-gateway; the only deployment is the creation's.
        // Pool tools are reached through the services proxy: no variable of theirs. The model reaches a
        // seed-era runtime by restart; today's takes its model from OpenRouter presets: no restart at all.
        if TestController.seedRuntime {
            #expect(record["env"] as? [String] == ["OPENCLAW_PRIMARY_MODEL"])
        } else {
            #expect((record["env"] as? [String] ?? []).isEmpty && (record["restarts"] as? [[String]] ?? []).isEmpty, "no restart on the claim path")
            let model: String? = try await t.controller.db.query(
                "SELECT value FROM services.runtime_env WHERE instance_id = $1 AND name = 'OPENCLAW_PRIMARY_MODEL' AND delivered_at IS NOT NULL", [instance])
                .first?.decode("value")
            #expect(model == "anthropic/claude-sonnet-4", "the model is recorded for the service's next deployment")
        }
        let told = (record["metadata"] as? [[String: Any]] ?? []).compactMap { $0["metadata"] as? [String: String] }
        if !TestController.seedRuntime {
            #expect(told.contains { $0["email"]?.contains("@") == true } && told.contains { $0["phone"]?.hasPrefix("+1") == true },
                    "the runtime was told its inbox and number: \(told)")
        }
        #expect(record["deployments"] as? Int == 1, "a claim with every tool made zero deployments")
        await t.stop()
    }

    /// The CLI prints the invite URL of the claim.
    @Test func cliClaimPrintsTheInvite() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Self.allTools))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let out = await shellOutput("CONTROLLER_URL=\(t.url) \(bin) claim --template concierge --owner u1", mergeErrors: true)
        #expect(out.status == 0)
        let lines = out.output.split(separator: "\n")
        #expect(lines.first?.contains("created conversation conv_") == true)
        #expect(lines.last?.hasPrefix("https://convos.org/invite/") == true, "\(out.output)")
        let usage = await shellOutput("CONTROLLER_URL=\(t.url) \(bin) claim --user-config nokey", mergeErrors: true)
        #expect(usage.status == 2)
        await t.stop()
    }

    /// The seed's old flow: no template, a name and instructions, no per-agent tools.
    @Test func oldClaimFlow() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.poolSized(1))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let claim = try await t.claim(nil, owner: nil, extra: ["agentName": "Ada", "instructions": "Be brief."])
        #expect(claim.status == 200)
        let body = try claim.json()
        #expect((body["inviteUrl"] as? String)?.hasPrefix("https://convos.org/invite/") == true)
        let instance = try #require(body["instanceId"] as? String)
        let provisions = try await t.runtimeRecord(instance)["provisions"] as? [[String: Any]] ?? []
        #expect(provisions.first?["agentName"] as? String == "Ada" && provisions.first?["instructions"] as? String == "Be brief.")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.tool_resources WHERE instance_id = $1 AND tool <> 'openrouter'", [instance]) == 0)
        let agent = try #require(body["agent"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        // Without a name or instructions (sent as nulls, as the OpenAPI document allows): the seed's defaults.
        _ = try await t.apply(Specs.poolSized(2))
        try await eventually("1 idle") { try await t.idle() >= 1 }
        let nulls = ["agentName", "instructions", "joinUrl", "model", "userConfig", "cloneFrom"].reduce(into: [String: Any]()) { $0[$1] = NSNull() }
        let bare = try await t.claim(nil, owner: nil, extra: nulls)
        #expect(bare.status == 200, "\(bare.text)")
        let bareInstance = try #require(try bare.json()["instanceId"] as? String)
        let first = (try await t.runtimeRecord(bareInstance)["provisions"] as? [[String: Any]])?.first
        #expect(first?["agentName"] as? String == "Assistant" && first?["instructions"] as? String == "You are a helpful AI assistant.")
        await t.stop()
    }

    /// `wait=0` answers at binding, the invite fields present and null; a bad wait is a 400.
    @Test func claimWaitAndItsChecks() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(2), Self.allTools, """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: private-one}
            spec: {agentName: P, instructions: I, visibility: private, creator: alice, model: {default: a/b}}
            """, """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: byo}
            spec: {agentName: B, instructions: I, tools: [{id: sms, provisioning: user}]}
            """))
        try await eventually("2 idle") { try await t.idle() == 2 }
        let before = try await t.rowCounts()
        for (query, field) in [("-1", "wait"), ("301", "wait"), ("soon", "wait")] {
            let r = try await t.client.send("POST", "/api/pool/claim?wait=\(query)", body: Data(#"{"templateId":"concierge"}"#.utf8),
                                            headers: ["Content-Type": "application/json"])
            #expect(r.status == 400 && r.detailPaths == [field])
        }
        #expect(try await t.claim("private-one", owner: "mallory").status == 422, "private: its creator only")
        #expect(try await t.claim("private-one", owner: "alice", extra: ["model": "c/d"]).status == 422, "no override allowed")
        #expect(try await t.claim("concierge", owner: "u", extra: ["joinUrl": "not a url"]).detailPaths == ["joinUrl"])
        let withoutCredentials = try await t.claim("byo", owner: "u")
        #expect(withoutCredentials.status == 400 && withoutCredentials.detailPaths == ["userConfig.telnyxApiKey", "userConfig.telnyxPhoneNumber"])
        let partial = try await t.claim("byo", owner: "u", extra: ["userConfig": ["telnyxApiKey": "k"]])
        #expect(partial.status == 400 && partial.detailPaths == ["userConfig.telnyxPhoneNumber"])
        #expect(try await t.claim("private-one", owner: "mallory", extra: ["userConfig": ["x": "y"]]).status == 422, "the template's rules first")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.user_configs") == 0, "no refused claim kept credentials")
        #expect(try await t.rowCounts() == before, "a refused claim changes nothing")
        let now = try await t.claim("concierge", owner: "u", wait: 0)
        let text = now.text
        #expect(now.status == 200 && text.contains("\"inviteUrl\":null") && text.contains("\"conversationId\":null"))
        #expect(try await t.claim("private-one", owner: "alice").status == 200)
        await t.stop()
    }

    /// The seed's dashboard views: counts for everyone, the instance list with a token.
    @Test func poolCountsAndAgents() async throws {
        let t = try await TestController.start(token: "tok", simulate: true)
        let auth = ["Authorization": "Bearer tok"]
        _ = try await t.apply(Specs.join(Specs.poolSized(2), Self.allTools), headers: auth)
        try await eventually("2 idle") { try await t.idle() == 2 }
        let agent = try #require(try await t.claim("concierge", owner: "u", headers: auth).json()["agent"] as? String)
        try await eventually("counts") {
            let counts = try await t.client.get("/api/pool/counts").json() as? [String: Int]
            return counts?["claimed"] == 1 && counts?["idle"] == 2 && counts?["crashed"] == 0 && counts?.keys.sorted() == ["claimed", "crashed", "idle", "starting"]
        }
        #expect(try await t.client.get("/api/pool/agents").status == 401)
        let agents = try await t.client.get("/api/pool/agents", headers: auth).json()
        #expect(Set(agents.keys) == ["claimed", "crashed", "idle", "starting"])
        let claimed = try #require((agents["claimed"] as? [[String: Any]])?.first)
        #expect(claimed["agent"] as? String == agent && claimed["agentName"] as? String == "Concierge")
        #expect((claimed["inviteUrl"] as? String)?.hasPrefix("https://convos.org/invite/") == true && claimed["conversationId"] is String)
        #expect(claimed["claimedAt"] is String && claimed["createdAt"] is String && claimed["url"] is String)
        #expect((agents["idle"] as? [[String: Any]])?.first?["agentName"] is NSNull)
        await t.stop()
    }
}
