import Foundation
import Store
import Testing
import Postgres
import Resources
import Simulator
import Sync
import AppTestSupport
import TestSupport

/// End to end over the simulated cloud and real Postgres: the reconciler converges by itself.
@Suite struct ReconcilerTests {
    @Test func fromEmptyToMinIdleReady() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.poolSized(3))
        try await eventually("3 idle instances") { try await t.idle() == 3 }
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.instances") == 3, "never more than minIdle created")
        let status = try await t.client.get("/v1/pools/default").json()["status"] as? [String: Any]
        try await eventually("pool status shows 3 idle") {
            ((try await t.client.get("/v1/pools/default").json()["status"] as? [String: Any])?["idle"] as? Int) == 3
        }
        _ = status
        #expect(await t.controller.simulator!.ledger().filter { $0.provider == "railway" && $0.kind == "project" }.count == 3)
        await t.stop()
    }

    @Test func claimedAgentBecomesReadyWithItsTools() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let claim = try await t.claim("concierge", owner: "alice")
        #expect(claim.status == 200)
        let body = try claim.json()
        let agent = try #require(body["agent"] as? String)
        let instance = try #require(body["instanceId"] as? String)
        #expect((body["gatewayUrl"] as? String)?.hasPrefix("http://127.0.0.1:") == true)
        let invite = try #require(body["inviteUrl"] as? String, "the claim waits for the invite")
        try await eventually("agent Ready") { try await t.phase(agent) == "Ready" }
        let status = try await t.client.get("/v1/agents/\(agent)").json()["status"] as? [String: Any] ?? [:]
        let conditions = status["conditions"] as? [[String: Any]] ?? []
        #expect(conditions.map { $0["type"] as? String } == ["Claimed", "ToolsReady", "Configured", "TemplateSynced", "Ready"])
        #expect(conditions.allSatisfy { $0["status"] as? String == "True" })
        #expect(status["inviteUrl"] as? String == invite && status["conversationId"] as? String == body["conversationId"] as? String)
        let mine = await t.controller.simulator!.ledger().filter { $0.name == "convos-agent-\(instance)" }
        #expect(Set(mine.map(\.provider)) == ["railway", "openrouter", "agentmail", "telnyx"])
        // The key's limit is the template's; the tools reached the agent without a deployment.
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.tool_resources WHERE instance_id = $1 AND tool = 'openrouter' AND config->>'limitUsd' = '10'", [instance]) == 1)
        #expect(await t.controller.simulator!.deployments().first { $0.project == "convos-agent-\(instance)" }?.deployments == 1)
        // The pool refills behind the claim.
        try await eventually("refilled") { try await t.idle() == 1 }
        await t.stop()
    }

    @Test func fiftyConcurrentClaimsGetFiftyDistinctInstances() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(50, max: 60), Specs.conciergeTemplate))
        try await eventually("50 idle", timeout: .seconds(60)) { try await t.idle() == 50 }
        // Children never throw: a thrown error cancels the group, and cancelling a URLSession task
        // can deadlock FoundationNetworking (RELIABILITY.md).
        let results = await withTaskGroup(of: (Int, String?, String?).self) { group in
            for i in 0..<50 {
                group.addTask {
                    guard let r = try? await t.claim("concierge", owner: "user\(i)") else { return (0, nil, nil) }
                    let body = try? r.json()
                    return (r.status, body?["instanceId"] as? String, body?["inviteUrl"] as? String)
                }
            }
            return await group.reduce(into: [(Int, String?, String?)]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.0 == 200 })
        #expect(Set(results.compactMap(\.1)).count == 50)
        #expect(Set(results.compactMap(\.2)).count == 50, "fifty conversations, each claim answered with its own invite")
        await t.stop()
    }

    /// A tick that writes many agents' statuses writes them a few to a transaction (a new term's
    /// 40,000 at once held 50 MB of encoded text): every one lands.
    @Test func statusesWrittenInPartsAllLand() async throws {
        var settings = TestController.fastReconciler
        settings.statusWritesPerTransaction = 3
        settings.fullReadEvery = .seconds(1)
        let t = try await TestController.start(simulate: true, reconciler: settings)
        _ = try await t.apply(Specs.join(Specs.poolSized(8, max: 10), Specs.conciergeTemplate))
        try await eventually("8 idle", timeout: .seconds(60)) { try await t.idle() == 8 }
        for i in 0..<8 { _ = try await t.claim("concierge", owner: "user\(i)") }
        func ready() async throws -> Int {
            try await t.count("SELECT count(*)::int AS n FROM pool.agents WHERE status->>'phase' = 'Ready'")
        }
        try await eventually("8 ready", timeout: .seconds(60)) { try await ready() == 8 }
        // Changed behind the tick's back (a status write is no change it is told of): the next
        // whole read finds all eight differ from what it computes, and writes them again.
        _ = try await t.controller.db.query("UPDATE pool.agents SET status = jsonb_set(status, '{phase}', '\"Pending\"')")
        #expect(try await ready() == 0)
        try await eventually("8 ready again", timeout: .seconds(30)) { try await ready() == 8 }
        await t.stop()
    }

    @Test func emptyPoolClaimWaitsThenBinds() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(0), Specs.conciergeTemplate))
        let claim = try await t.claim("concierge", owner: "alice")
        #expect(claim.status == 202)
        let agent = try #require(try claim.json()["agent"] as? String)
        try await eventually("waiting agent Ready") { try await t.phase(agent) == "Ready" }
        await t.stop()
    }

    /// A runtime with `/pool/update-template` gets every template change; one without it (the real
    /// runtime) is asked once per change and the condition says so: no retry storm.
    @Test(arguments: [true, false])
    func templateChangesReachEveryAgentOrSayWhyNot(_ supported: Bool) async throws {
        var cloud = TestController.fastCloud
        cloud.runtimeExtensions = supported
        let t = try await TestController.start(simulate: true, cloud: cloud)
        _ = try await t.apply(Specs.join(Specs.poolSized(3), Specs.conciergeTemplate))
        try await eventually("3 idle") { try await t.idle() == 3 }
        var agents: [String] = []
        for i in 0..<3 { agents.append(try #require(try await t.claim("concierge", owner: "u\(i)").json()["agent"] as? String)) }
        try await eventually("all Ready") { try await agents.asyncAllSatisfy { try await t.phase($0) == "Ready" } }
        let put = try await t.client.send("PUT", "/api/pool/templates/concierge", body: Data(#"{"agentName":"Concierge","instructions":"New.","model":{"default":"openai/gpt-4o"},"tools":[{"id":"email"},{"id":"sms"},{"id":"crypto"}]}"#.utf8), headers: ["Content-Type": "application/json"])
        #expect(put.status == 200)
        func synced(_ agent: String) async throws -> (String?, String?, Int?) {
            let status = try await t.client.get("/v1/agents/\(agent)").json()["status"] as? [String: Any]
            let condition = (status?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "TemplateSynced" }
            return (condition?["status"] as? String, condition?["reason"] as? String, status?["templateGeneration"] as? Int)
        }
        // Refused, the runtime keeps running the generation of its claim.
        let expected: (String?, String?, Int?) = supported ? ("True", "Synced", 2) : ("False", "NotSupportedByRuntime", 1)
        try await eventually("every agent's TemplateSynced is \(expected)") {
            try await agents.asyncAllSatisfy { try await synced($0) == expected }
        }
        if supported {
            #expect(try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'claimed' AND template_generation = 2") == 3)
        }
        // Asked once each, not again on every tick: a quiet wait changes nothing.
        let asked = try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason IN ('TemplateSynced', 'NotSupportedByRuntime')")
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason IN ('TemplateSynced', 'NotSupportedByRuntime')") == asked)
        #expect(asked == 3)
        // The model change reached a seed-era runtime in place, through a restart; today's runtime
        // reads no model variable (OpenRouter presets): recorded for its next deployment, no restart.
        for agent in agents {
            let instance: String = try await t.controller.db.query("SELECT instance_id FROM pool.instances WHERE agent = $1", [agent]).first!.decode("instance_id")
            if TestController.seedRuntime {
                try await eventually("model delivered") { (try await t.runtimeRecord(instance)["env"] as? [String])?.contains("OPENCLAW_PRIMARY_MODEL") == true }
            } else {
                try await eventually("model recorded") {
                    try await t.count("SELECT count(*)::int AS n FROM services.runtime_env WHERE instance_id = '\(instance)' AND name = 'OPENCLAW_PRIMARY_MODEL' AND delivered_at IS NOT NULL") == 1
                }
                #expect((try await t.runtimeRecord(instance)["restarts"] as? [[String]] ?? []).isEmpty)
            }
        }
        await t.stop()
    }

    @Test func cloneGetsFreshToolsAndSendsItsSummary() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(2), Specs.conciergeTemplate))
        try await eventually("2 idle") { try await t.idle() == 2 }
        let parent = try #require(try await t.claim("concierge", owner: "alice").json()["agent"] as? String)
        try await eventually("parent Ready") { try await t.phase(parent) == "Ready" }
        #expect(try await t.claim("concierge", owner: "mallory", cloneFrom: parent).status == 422)
        let child = try #require(try await t.claim("concierge", owner: "alice", cloneFrom: parent).json()["agent"] as? String)
        try await eventually("clone summary tried once; the runtime has no such endpoint") {
            try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE agent = $1 AND clone_summary_result = 'unsupported'", [child]) == 1
        }
        let parentInstance: String = try await t.controller.db.query("SELECT instance_id FROM pool.instances WHERE agent = $1", [parent]).first!.decode("instance_id")
        let childRow = try await t.controller.db.query("SELECT instance_id, parent_instance FROM pool.instances WHERE agent = $1", [child]).first!
        #expect(try childRow.decode("parent_instance", as: String?.self) == parentInstance)
        let childInstance: String = try childRow.decode("instance_id")
        // Fresh tools of its own: its own project and volume, key, inbox and number.
        try await eventually("the clone Ready") { try await t.phase(child) == "Ready" }
        let own = await t.controller.simulator!.ledger().filter { $0.name == "convos-agent-\(childInstance)" }.map { "\($0.provider)/\($0.kind)" }
        #expect(own.sorted() == ["agentmail/inbox", "openrouter/key", "railway/project", "railway/volume", "telnyx/phone_number"])
        await t.stop()
    }

    @Test func deleteTearsDownInOrderAndTheAgentGoes() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let body = try await t.claim("concierge", owner: "alice").json()
        let agent = try #require(body["agent"] as? String), instance = try #require(body["instanceId"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        #expect(try await t.client.send("DELETE", "/v1/agents/\(agent)").status == 202)
        try await eventually("agent gone") { try await t.phase(agent) == nil }
        let sim = t.controller.simulator!
        #expect(await sim.ledger().filter { $0.name == "convos-agent-\(instance)" }.isEmpty)
        let order = await sim.events().filter { $0.action == "delete" && $0.name == "convos-agent-\(instance)" }.map(\.provider)
        // The number is not deleted but given back to the reuse pool (TELNYX_RELEASE=pool), in its turn.
        #expect(order == ["openrouter", "agentmail", "railway"])
        #expect(await sim.ledger().filter { $0.provider == "telnyx" }.map(\.name) == ["convos-pool"])
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state = 'available' AND instance_id IS NULL") == 1)
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE instance_id = $1", [instance]) == 0, "never reused")
        await t.stop()
    }

    @Test func convergesWithThirtyPercentProviderErrors() async throws {
        let t = try await TestController.start(simulate: true)
        var faults = Faults()
        faults.errorRate = 0.3
        t.controller.simulator!.setFaults(faults)
        _ = try await t.apply(Specs.join(Specs.poolSized(3), Specs.conciergeTemplate, """
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: alice}
            spec: {template: concierge, owner: alice}
            """))
        try await eventually("agent Ready and 3 idle", timeout: .seconds(60)) {
            let ready = try await t.phase("alice") == "Ready"
            let idle = try await t.idle()
            return ready && idle == 3
        }
        t.controller.simulator!.setFaults(Faults())
        // No leak, no duplicate: one Railway project per instance row.
        try await eventually("ledger matches the database") {
            let projects = await t.controller.simulator!.ledger().filter { $0.provider == "railway" && $0.kind == "project" }.map(\.name)
            let rows = try await t.controller.db.query("SELECT instance_id FROM pool.instances").rows.map { "convos-agent-" + (try $0.decode("instance_id", as: String.self)) }
            return projects.sorted() == rows.sorted()
        }
        await t.stop()
    }

    @Test func orphanIsDeletedAfterGrace() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.poolSized(0))
        _ = try await t.controller.providers.railway.createProject(name: "convos-agent-leftover1", environmentName: "production")
        try await eventually("orphan deleted") { await t.controller.simulator!.ledger().isEmpty }
        try await eventually("an event says so") {
            try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'OrphanDeleted' AND name = 'leftover1'") >= 1
        }
        await t.stop()
    }

    /// A new digest replaces idle instances; under `rollout: {claimed: Never}` claimed ones keep theirs.
    @Test func newDigestReplacesIdleButNotClaimed() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: default}
            spec: {minIdle: 2, maxInstances: 60, image: "ghcr.io/xmtplabs/convos-runtime:production", rollout: {claimed: Never}}
            """, Specs.conciergeTemplate))
        try await eventually("2 idle") { try await t.idle() == 2 }
        let agent = try #require(try await t.claim("concierge", owner: "alice").json()["agent"] as? String)
        try await eventually("Ready and refilled") {
            let ready = try await t.phase(agent) == "Ready"
            let idle = try await t.idle()
            return ready && idle == 2
        }
        let claimed: String = try await t.controller.db.query("SELECT image_digest FROM pool.instances WHERE agent = $1", [agent]).first!.decode("image_digest")
        let moved = await t.controller.simulator!.moveTag(repository: "xmtplabs/convos-runtime", tag: "production")
        try await eventually("idle instances on the new digest") {
            let fresh = try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'idle' AND image_digest = $1", [moved])
            let stale = try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE state IN ('idle','provisioning','deleting') AND image_digest <> $1", [moved])
            return fresh == 2 && stale == 0
        }
        #expect(try await t.controller.db.query("SELECT image_digest FROM pool.instances WHERE agent = $1", [agent]).first!.decode("image_digest", as: String.self) == claimed)
        await t.stop()
    }

    @Test func applyOnAFollowerWakesTheLeaderThroughNotify() async throws {
        let url = try await TestDatabase.create(prefix: "n")
        var slow = TestController.fastReconciler
        slow.interval = .seconds(30)
        slow.renewEvery = .seconds(10)
        slow.leaseDuration = .seconds(30)
        let a = try await TestController.start(databaseURL: url, simulate: true, reconciler: slow)
        try await eventually("a leads and has ticked") {
            let s = await a.controller.reconciler.snapshot
            return s.isLeader && s.ticks >= 1
        }
        // The leader's next timer tick is about 10 s away; the apply goes to the follower.
        let b = try await TestController.start(databaseURL: url, simulate: true, reconciler: slow)
        let start = ContinuousClock.now
        _ = try await b.apply(Specs.poolSized(1))
        try await eventually("the leader started creating", timeout: .seconds(5)) {
            try await a.count("SELECT count(*)::int AS n FROM pool.instances") > 0
        }
        #expect(ContinuousClock.now - start < .seconds(5), "woken by NOTIFY, not by its 10 s timer")
        // Every finished action wakes the loop too (a step follows the one before it at once), so the
        // count is a few; a timer tick would have come 10 s later, which the bound above excludes.
        #expect(await a.controller.reconciler.snapshot.ticks <= 8, "no timer tick needed")
        await b.stop()
        await a.stop()
    }

    @Test func twoReplicasExactlyOneLeadsAndHandOver() async throws {
        let url = try await TestDatabase.create(prefix: "r")
        let a = try await TestController.start(databaseURL: url, simulate: true)
        let b = try await TestController.start(databaseURL: url, simulate: true)
        try await eventually("a leader") {
            let x = await a.controller.reconciler.snapshot.isLeader
            let y = await b.controller.reconciler.snapshot.isLeader
            return x || y
        }
        let aLeads = await a.controller.reconciler.snapshot.isLeader
        let bLeads = await b.controller.reconciler.snapshot.isLeader
        #expect(aLeads != bLeads, "exactly one leads")
        let (leader, follower) = aLeads ? (a, b) : (b, a)
        let token = try #require(await leader.controller.reconciler.snapshot.fencingToken)
        let start = ContinuousClock.now
        await leader.stop()
        try await eventually("the other takes over", timeout: .seconds(10)) { await follower.controller.reconciler.snapshot.isLeader }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(try #require(await follower.controller.reconciler.snapshot.fencingToken) > token)
        // The old token writes nothing any more.
        let stale = Fence(db: follower.controller.db, holder: "nobody", token: token, deadline: LeaseDeadline(clock: SystemClock()))
        await #expect(throws: Fence.Lost.self) { try await stale.transaction { _ in } }
        await follower.stop()
    }

    /// A follower retries when the holder's lease runs out, not a poll later: with a 30 s poll it
    /// still takes over a dead holder's lease about when the lease expires.
    @Test func followerTakesOverWhenTheLeaseRunsOut() async throws {
        let url = try await TestDatabase.create(prefix: "r")
        let migrated = try await TestController.start(databaseURL: url, reconciler: TestController.noReconciler)
        _ = try await migrated.controller.db.query(
            "INSERT INTO pool.leases (name, holder, fencing_token, expires_at) VALUES ('reconciler', 'ghost', 7, now() + interval '1500 milliseconds')")
        var slowPoll = TestController.fastReconciler
        slowPoll.renewEvery = .seconds(30)
        slowPoll.interval = .seconds(30)
        let start = ContinuousClock.now
        let follower = try await TestController.start(databaseURL: url, reconciler: slowPoll)
        try await eventually("the follower leads", timeout: .seconds(10)) { await follower.controller.reconciler.snapshot.isLeader }
        #expect(ContinuousClock.now - start < .seconds(5), "took over at the expiry, not at the next 30 s poll")
        #expect(await follower.controller.reconciler.snapshot.fencingToken == 8)
        await follower.stop()
        await migrated.stop()
    }
}

