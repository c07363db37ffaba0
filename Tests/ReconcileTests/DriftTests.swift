import Foundation
import Testing
import AppTestSupport
import Reconcile
import Providers
import Resources

/// Drift healed level-triggered: what is deleted behind the controller's back is seen at the next
/// resync (1 s in tests) and made right.
@Suite struct DriftTests {
    static func agentStatus(_ t: TestController, _ name: String) async throws -> [String: Any] {
        try await t.client.get("/v1/agents/\(name)").json()["status"] as? [String: Any] ?? [:]
    }
    static func deleteProject(_ t: TestController, of instance: String) async throws {
        let project: String = try await t.controller.db.query("SELECT railway_project_id FROM services.instances WHERE instance_id = $1", [instance])
            .first!.decode("railway_project_id")
        // As a person in Railway's dashboard would: through its API, not through the controller.
        try await t.controller.providers.railway.deleteProject(id: project)
    }

    /// A claimed agent whose Railway project is deleted is Ready again on a fresh instance, with a
    /// new conversation and invite URL; the lost instance's tools are released.
    @Test func aClaimedAgentWhoseProjectIsDeletedIsReadyAgainOnANewInstance() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate, Specs.agent("a1")))
        try await eventually("a1 Ready", timeout: .seconds(60)) { try await t.phase("a1") == "Ready" }
        let before = try await Self.agentStatus(t, "a1")
        let lost = try #require(before["instanceId"] as? String)
        let oldInvite = try #require(before["inviteUrl"] as? String)

        try await Self.deleteProject(t, of: lost)
        try await eventually("a1 on another instance") { try await Self.agentStatus(t, "a1")["instanceId"] as? String ?? lost != lost }
        try await eventually("a1 Ready again", timeout: .seconds(30)) { try await t.phase("a1") == "Ready" }
        let after = try await Self.agentStatus(t, "a1")
        let fresh = try #require(after["instanceId"] as? String)
        let newInvite = try #require(after["inviteUrl"] as? String)
        #expect(newInvite != oldInvite, "a new conversation, so a new invite URL")

        let events = try await t.client.get("/v1/events?kind=Agent&name=a1").json()["items"] as? [[String: Any]] ?? []
        let reasons = events.compactMap { $0["reason"] as? String }
        #expect(reasons.contains("InstanceLost"))
        #expect(events.contains { $0["reason"] as? String == "Configured" && ($0["message"] as? String ?? "").contains(newInvite) },
                "the new invite is recorded: \(events)")
        // The lost instance is torn down: its row and every resource of it but a number kept for reuse.
        try await eventually("the lost instance torn down") {
            let left = await t.controller.simulator!.ledger().filter { $0.name == "convos-agent-\(lost)" && $0.provider != "telnyx" }
            return try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE instance_id = $1", [lost]) == 0 && left.isEmpty
        }
        let mine = await t.controller.simulator!.ledger().filter { $0.name == "convos-agent-\(fresh)" }
        #expect(Set(mine.map(\.provider)).isSuperset(of: ["railway", "openrouter", "agentmail"]), "the fresh instance has its tools: \(mine)")
        await t.stop()
    }

    /// An OpenRouter key and an AgentMail inbox deleted at their providers are found by the audit
    /// after a resync, made again, and handed to the running agent (a restart with the new key; the
    /// inbox comes back at the same address, which the agent already holds).
    @Test func aRevokedKeyAndADeletedInboxAreMadeAgainAndReachTheAgent() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate, Specs.agent("a1")))
        try await eventually("a1 Ready", timeout: .seconds(60)) { try await t.phase("a1") == "Ready" }
        let instance = try #require(try await Self.agentStatus(t, "a1")["instanceId"] as? String)
        func resource(_ tool: String) async throws -> String? {
            try await t.controller.db.query("SELECT external_id FROM services.tool_resources WHERE instance_id = $1 AND tool = $2 AND state = 'ready'",
                                            [instance, tool]).first?.decode("external_id")
        }
        let oldKey = try #require(try await resource("openrouter"))
        let oldInbox = try #require(try await resource("email"))
        let restartsBefore = (try await t.runtimeRecord(instance)["restarts"] as? [[String]] ?? []).count

        let name = externalName(instanceID: instance)
        try await t.controller.providers.openRouter.delete(name: name, externalID: oldKey)
        try await t.controller.providers.agentMail.delete(name: name, externalID: oldInbox)

        // AgentMail names an inbox by its address, so the new one has the old one's id: counted by creates.
        func inboxCreates() async -> Int {
            await t.controller.simulator!.events().filter { $0.provider == "agentmail" && $0.action == "create" && $0.name == name }.count
        }
        try await eventually("both made again") {
            let key = try await resource("openrouter")
            let inbox = try await resource("email")
            let creates = await inboxCreates()
            return key != nil && key != oldKey && inbox != nil && creates == 2
        }
        let newKey = try #require(try await resource("openrouter"))
        try await eventually("the new key delivered to the running agent") {
            try await t.count("""
                SELECT count(*)::int AS n FROM services.runtime_env e JOIN services.tool_resources t ON t.instance_id = e.instance_id AND t.tool = 'openrouter'
                WHERE e.instance_id = $1 AND e.name = 'OPENROUTER_API_KEY' AND e.delivered_at > t.updated_at AND t.external_id = $2
                """, [instance, newKey]) == 1
        }
        let restarts = try await t.runtimeRecord(instance)["restarts"] as? [[String]] ?? []
        let after = restarts.dropFirst(restartsBefore).flatMap { $0 }
        #expect(after.contains("OPENROUTER_API_KEY"), "handed over with a restart: \(restarts)")
        let ledger = await t.controller.simulator!.ledger().filter { $0.name == name }
        #expect(ledger.filter { $0.provider == "openrouter" }.map(\.id) == [newKey] && ledger.filter { $0.provider == "agentmail" }.count == 1)
        try await eventually("a1 Ready again") { try await t.phase("a1") == "Ready" }
        await t.stop()
    }

    /// `spec.onInstanceLost: Fail`: the agent is Failed with reason InstanceLost and keeps its
    /// instance; nothing is bound in its place.
    @Test func onInstanceLostFailLeavesTheAgentFailed() async throws {
        let t = try await TestController.start(simulate: true)
        let agent = """
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: keeper}
            spec: {template: concierge, owner: user_1, onInstanceLost: Fail}
            """
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate, agent))
        try await eventually("keeper Ready", timeout: .seconds(60)) { try await t.phase("keeper") == "Ready" }
        let instance = try #require(try await Self.agentStatus(t, "keeper")["instanceId"] as? String)
        try await Self.deleteProject(t, of: instance)
        try await eventually("keeper Failed") { try await t.phase("keeper") == "Failed" }
        let status = try await Self.agentStatus(t, "keeper")
        let conditions = status["conditions"] as? [[String: Any]] ?? []
        let ready = conditions.first { $0["type"] as? String == "Ready" }
        #expect(ready?["status"] as? String == "False" && ready?["reason"] as? String == "InstanceLost")
        #expect(status["instanceId"] as? String == instance, "it keeps the lost instance")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE agent = 'keeper'") == 1)
        await t.stop()
    }

    /// The reason stays `InstanceLost` from the loss until a fresh instance is bound, so the agent
    /// never looks like a new one merely waiting.
    @Test func instanceLostStaysTheReasonUntilAFreshInstanceIsBound() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let agent = AgentView(name: "a1", spec: AgentSpec(owner: "u1"), deleting: false, createdAt: now - 600)
        var lost = InstanceView(id: "c1", pool: "default", state: .claimed, url: "http://x/c1", agent: "a1", createdAt: now - 600,
                                health: .deployFailed, deployStatus: .missing, conversationId: "conv-1", inviteUrl: "https://convos.org/v2?i=1")
        func reason(_ status: AgentStatus, _ type: AgentConditionType) -> String? { status.conditions.first { $0.type == type.rawValue }?.reason }
        let seen = StatusBuilder.agent(agent, generation: 1, previous: nil, instance: lost, templates: [:], now: now)
        #expect(reason(seen, .claimed) == "InstanceLost" && reason(seen, .ready) == "InstanceLost")
        let unbound = StatusBuilder.agent(agent, generation: 1, previous: seen, instance: nil, templates: [:], now: now + 1)
        #expect(reason(unbound, .claimed) == "InstanceLost" && reason(unbound, .ready) == "InstanceLost")
        #expect(unbound.phase == .pending && unbound.inviteUrl == nil)
        let still = StatusBuilder.agent(agent, generation: 1, previous: unbound, instance: nil, templates: [:], now: now + 2)
        #expect(still == unbound, "a quiet tick writes nothing")
        lost.id = "c2"
        lost.deployStatus = .success
        lost.health = .healthy
        let bound = StatusBuilder.agent(agent, generation: 1, previous: still, instance: lost, templates: [:], now: now + 3)
        #expect(reason(bound, .claimed) == "Bound")
    }

    /// An invalid policy is refused with its field path, and nothing is stored.
    @Test func anUnknownPolicyIsRefusedWithItsPath() async throws {
        let t = try await TestController.start()
        let agent = """
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: keeper}
            spec: {owner: user_1, onInstanceLost: Retry}
            """
        let response = try await t.apply(agent)
        #expect(response.status == 422 || response.status == 400)
        #expect(response.detailPaths.contains("spec.onInstanceLost"), "\(response.errorBody)")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.agents") == 0)
        await t.stop()
    }
}
