import Foundation
import Testing
import Postgres
import Services
import Simulator
import AppTestSupport
import TestSupport

/// Rollouts of a pool's new digest to its claimed agents (issue 25), end to end on the simulated
/// cloud: the pace (`maxUnavailable`, `canary`), the gates (ready on the new version with its own
/// conversation), the rollback and halt of a failing digest, `Manual`, pins, `undo`, and the old
/// variables an upgrade removes.
@Suite struct RolloutTests {
    static let repository = "xmtplabs/convos-runtime"
    static let template = """
        apiVersion: agents.convos.org/v1
        kind: AgentTemplate
        metadata: {name: plain}
        spec: {agentName: Plain, instructions: "Be plain."}
        """

    static func pool(_ minIdle: Int, rollout: String) -> String {
        """
        apiVersion: agents.convos.org/v1
        kind: Pool
        metadata: {name: default}
        spec: {minIdle: \(minIdle), maxInstances: 60, image: "ghcr.io/xmtplabs/convos-runtime:production", rollout: \(rollout)}
        """
    }

    /// A controller whose canaries need a second of proof, not a minute.
    static func start() async throws -> TestController {
        var settings = TestController.fastReconciler
        settings.planner.canaryProof = 1
        return try await TestController.start(simulate: true, reconciler: settings)
    }

    struct Claimed { let agent: String; let instance: String; let conversation: String; let invite: String }

    /// `count` agents claimed and Ready.
    static func claim(_ t: TestController, _ count: Int) async throws -> [Claimed] {
        var claimed: [Claimed] = []
        for i in 0..<count {
            let body = try await t.claim("plain", owner: "u\(i)").json()
            claimed.append(Claimed(agent: try #require(body["agent"] as? String), instance: try #require(body["instanceId"] as? String),
                                   conversation: try #require(body["conversationId"] as? String), invite: try #require(body["inviteUrl"] as? String)))
        }
        try await eventually("all Ready") { try await claimed.asyncAllSatisfy { try await t.phase($0.agent) == "Ready" } }
        return claimed
    }

    static func digest(_ t: TestController, _ instance: String) async throws -> String? {
        try await t.controller.db.query("SELECT image_digest FROM pool.instances WHERE instance_id = $1", [instance]).first?.decode("image_digest")
    }

    static func rollout(_ t: TestController) async throws -> [String: Any] {
        (try await t.client.get("/v1/pools/default").json()["status"] as? [String: Any])?["rollout"] as? [String: Any] ?? [:]
    }

    static func ticks(_ t: TestController) async throws -> Int {
        (try await t.client.get("/status").json()["lastTick"] as? [String: Any])?["count"] as? Int ?? 0
    }

    static func upgrading(_ t: TestController) async throws -> Int {
        try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE upgrade_phase IS NOT NULL")
    }

    /// Twenty agents, `maxUnavailable: 25%`, `canary: 1`: the canary alone first, never more than
    /// five at once after, every agent on the new digest and version with its conversation and
    /// invite unchanged, each deployed once more (its own upgrade only), the counts and events
    /// telling the story.
    @Test func twentyAgentsRollFiveAtATimeAfterTheCanary() async throws {
        let t = try await Self.start()
        _ = try await t.apply(Specs.join(Self.pool(20, rollout: "{maxUnavailable: 25%, canary: 1}"), Self.template))
        try await eventually("20 idle", timeout: .seconds(40)) { try await t.idle() == 20 }
        let agents = try await Self.claim(t, 20)
        let before = try await Self.digest(t, agents[0].instance)
        let moved = await t.controller.simulator!.moveTag(repository: Self.repository, tag: "production", image: SimImage(version: "sim-2"))

        var most = 0, canaryAlone = false
        try await eventually("every agent on the new digest", timeout: .seconds(60)) {
            let now = try await Self.upgrading(t)
            most = max(most, now)
            let done = try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE agent IS NOT NULL AND image_digest = $1 AND upgrade_phase IS NULL", [moved])
            if now == 1 && done == 0 { canaryAlone = true }
            return done == 20
        }
        #expect(most <= 5, "never more than 25% of 20 upgrading at once: \(most)")
        #expect(canaryAlone, "the canary went alone first")
        #expect(before != moved)
        for a in agents {
            let record = try await t.runtimeRecord(a.instance)
            #expect(record["conversationId"] as? String == a.conversation, "\(a.agent) kept its conversation")
            #expect(record["deployments"] as? Int == 2, "\(a.agent) deployed for its creation and its own upgrade only")
            let status = try await t.client.get("/v1/agents/\(a.agent)").json()["status"] as? [String: Any] ?? [:]
            #expect(status["inviteUrl"] as? String == a.invite && status["conversationId"] as? String == a.conversation)
        }
        try await eventually("Ready on sim-2, the rollout Complete") {
            let versions = try await agents.asyncAllSatisfy {
                let status = try await t.client.get("/v1/agents/\($0.agent)").json()["status"] as? [String: Any]
                return status?["phase"] as? String == "Ready" && status?["runtimeVersion"] as? String == "sim-2"
            }
            let rollout = try await Self.rollout(t)
            return versions && rollout["phase"] as? String == "Complete" && rollout["updated"] as? Int == 20 && rollout["total"] as? Int == 20
        }
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'Upgraded'") == 20)
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'RolloutStarted'") == 1)
        await t.stop()
    }

    /// A crashing digest: the canary fails, goes back to its previous digest and is Ready again; no
    /// other agent is touched; the pool says `RolloutFailed` naming it, and `rollout status` exits 1.
    @Test func aCrashingDigestIsRolledBackAndHaltsTheRollout() async throws {
        let t = try await Self.start()
        _ = try await t.apply(Specs.join(Self.pool(4, rollout: "{maxUnavailable: 2, canary: 1}"), Self.template))
        try await eventually("4 idle") { try await t.idle() == 4 }
        let agents = try await Self.claim(t, 4)
        let before = try #require(try await Self.digest(t, agents[0].instance))
        _ = await t.controller.simulator!.moveTag(repository: Self.repository, tag: "production", image: SimImage(version: "sim-bad", crashes: true))

        try await eventually("the rollout halted", timeout: .seconds(30)) { try await Self.rollout(t)["phase"] as? String == "Halted" }
        let pool = try await t.client.get("/v1/pools/default").json()["status"] as? [String: Any] ?? [:]
        let progressing = (pool["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "Progressing" }
        #expect(progressing?["status"] as? String == "False" && progressing?["reason"] as? String == "RolloutFailed")
        let failed: String = try #require(try await t.controller.db.query(
            "SELECT agent FROM pool.instances WHERE upgrade_error IS NOT NULL").first?.decode("agent"))
        #expect((progressing?["message"] as? String)?.contains(failed) == true)
        try await eventually("the canary Ready again on its previous digest", timeout: .seconds(30)) {
            let canary = agents.first { $0.agent == failed }!
            let phase = try await t.phase(failed), digest = try await Self.digest(t, canary.instance)
            let conversation = try await t.runtimeRecord(canary.instance)["conversationId"] as? String
            return phase == "Ready" && digest == before && conversation == canary.conversation
        }
        for a in agents where a.agent != failed {
            #expect(try await t.runtimeRecord(a.instance)["deployments"] as? Int == 1, "\(a.agent) was not touched")
        }
        let (code, output) = try await t.cli("rollout status pool/default")
        #expect(code == 1 && output.contains("halted") && output.contains(failed), "rollout status: \(code) \(output)")
        await t.stop()
    }

    /// `Manual` waits for `rollout resume`; a pinned agent is never touched; `rollout undo` returns
    /// every upgraded agent to its previous digest.
    @Test func manualWaitsPinnedStaysAndUndoReturns() async throws {
        let t = try await Self.start()
        _ = try await t.apply(Specs.join(Self.pool(3, rollout: "{claimed: Manual, maxUnavailable: 3}"), Self.template))
        try await eventually("3 idle") { try await t.idle() == 3 }
        let agents = try await Self.claim(t, 3)
        let before = try #require(try await Self.digest(t, agents[0].instance))
        let pinned = agents[2]
        _ = try await t.apply("""
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: \(pinned.agent)}
            spec: {template: plain, owner: u2, runtimeImage: "ghcr.io/xmtplabs/convos-runtime@\(before)"}
            """)
        let moved = await t.controller.simulator!.moveTag(repository: Self.repository, tag: "production")
        try await eventually("the rollout recorded, paused") { try await Self.rollout(t)["paused"] as? Bool == true }
        // Five more ticks, each of which would have started upgrades under Auto.
        let ticks = try await Self.ticks(t)
        try await eventually("five more ticks") { try await Self.ticks(t) >= ticks + 5 }
        let held = try await Self.upgrading(t), first = try await Self.digest(t, agents[0].instance)
        #expect(held == 0 && first == before, "Manual: nothing moved")

        #expect(try await t.client.send("POST", "/v1/pools/default/rollout/resume").status == 200)
        try await eventually("the unpinned agents upgraded", timeout: .seconds(30)) {
            try await Array(agents.prefix(2)).asyncAllSatisfy { a in
                let digest = try await Self.digest(t, a.instance), phase = try await t.phase(a.agent)
                return digest == moved && phase == "Ready"
            }
        }
        let pinnedDigest = try await Self.digest(t, pinned.instance), pinnedDeployments = try await t.runtimeRecord(pinned.instance)["deployments"] as? Int
        #expect(pinnedDigest == before && pinnedDeployments == 1, "the pinned agent was not touched")

        // Undo said under the Kubernetes group's pools, as a kubectl plugin would.
        #expect(try await t.client.send("POST", "/apis/agents.convos.org/v1/pools/default/rollout/undo").status == 200)
        try await eventually("every upgraded agent back", timeout: .seconds(30)) {
            try await Array(agents.prefix(2)).asyncAllSatisfy { a in
                let digest = try await Self.digest(t, a.instance), phase = try await t.phase(a.agent)
                return digest == before && phase == "Ready"
            }
        }
        #expect(try await t.client.send("POST", "/v1/pools/nope/rollout/pause").status == 404)
        #expect(try await t.client.send("POST", "/v1/pools/default/rollout/restart").status == 404)
        await t.stop()
    }

    /// An old instance carrying account-wide keys and the pool's own key ends its upgrade without
    /// them: the upgrade's one commit reconciles its variables to the contract's set.
    @Test func anUpgradeRemovesVariablesTheContractDoesNotList() async throws {
        let t = try await Self.start()
        _ = try await t.apply(Specs.join(Self.pool(1, rollout: "{maxUnavailable: 1}"), Self.template))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let a = try #require(try await Self.claim(t, 1).first)
        let services = try #require(t.controller.services as? InProcessServices)
        let project = try await services.project(a.instance)
        try await t.controller.providers.railway.storeVariables(project, ["AGENTMAIL_API_KEY": "am-account-key", "POOL_API_KEY": "pool-admin-key"])
        let moved = await t.controller.simulator!.moveTag(repository: Self.repository, tag: "production")
        try await eventually("upgraded", timeout: .seconds(30)) {
            let digest = try await Self.digest(t, a.instance), phase = try await t.phase(a.agent)
            return digest == moved && phase == "Ready"
        }
        let stored = try await t.controller.providers.railway.variables(project)
        #expect(stored["AGENTMAIL_API_KEY"] == nil)
        #expect(stored["POOL_API_KEY"] == (try await t.gatewayToken(a.instance)), "the runtime's own secret, not the pool's key")
        #expect(try await t.runtimeRecord(a.instance)["deployments"] as? Int == 2, "one deployment: the upgrade's own")
        await t.stop()
    }
}
