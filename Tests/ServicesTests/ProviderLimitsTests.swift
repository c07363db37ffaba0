import Foundation
import Testing
import Postgres
import Resources
import Simulator
import AppTestSupport
import TestSupport

/// Providers as they limit us, end to end: Railway's per-token creation pace, a long
/// `Retry-After`, and deployment events instead of polling (with the resync behind them).
@Suite struct ProviderLimitsTests {
    static func poolCondition(_ t: TestController, _ type: String) async throws -> [String: Any]? {
        let status = try await t.client.get("/v1/pools/default").json()["status"] as? [String: Any]
        return (status?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == type }
    }

    /// One token, one project per 3 s (the client waits 4 s once it has learned it): the pool
    /// fills, says `ProviderQuota` while it waits, and the wait (about 16 s for the last) never
    /// counts toward the stuck timeout (10 s here): nothing fails, nothing is made twice.
    @Test func paceOfOneTokenHoldsCreatesBackWithoutFailingThem() async throws {
        var cloud = TestController.fastCloud
        cloud.projectCreateInterval = .seconds(3)
        var reconciler = TestController.fastReconciler
        reconciler.planner.stuckAfter = 10
        let t = try await TestController.start(simulate: true, reconciler: reconciler, cloud: cloud)
        _ = try await t.apply(Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 5"))
        var sawQuota = false
        try await eventually("5 idle", timeout: .seconds(60)) {
            if let c = try await Self.poolCondition(t, "Progressing"), c["status"] as? String == "False", c["reason"] as? String == "ProviderQuota" {
                sawQuota = true
                #expect((c["message"] as? String)?.contains("creating goes on at") == true)
            }
            return try await t.idle() == 5
        }
        #expect(sawQuota, "Progressing=False ProviderQuota while the pace held creates back")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason IN ('NotReadyInTime', 'Failed')") == 0)
        let projects = await t.controller.simulator!.ledger().filter { $0.kind == "project" }.map(\.name)
        #expect(projects.count == 5 && Set(projects).count == 5, "no project made twice: \(projects)")
        try await eventually("Progressing True again, minIdle met") {
            let progressing = try await Self.poolCondition(t, "Progressing")?["reason"] as? String
            let ready = try await Self.poolCondition(t, "Ready")?["reason"] as? String
            return progressing == "Steady" && ready == "MinIdleMet"
        }
        let status = try await t.client.get("/status").json()
        let railway = (status["providers"] as? [[String: Any]])?.first { $0["name"] as? String == "railway" }
        #expect((railway?["quota"] as? [[String: Any]])?.count == 1, "one entry per token")
        await t.stop()
    }

    /// A 429 with a `Retry-After` longer than the client sleeps: OpenRouter's work is deferred to
    /// then (not retried blindly, not dropped), and everything converges after.
    @Test func longRetryAfterDefersThenConverges() async throws {
        let t = try await TestController.start(simulate: true)
        var faults = Faults()
        faults.rateLimitEvery = 1
        faults.retryAfterSeconds = 12
        faults.providers = ["openrouter"]
        t.controller.simulator!.setFaults(faults)
        _ = try await t.apply(Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 1"))
        try await eventually("deferred for the quota") {
            try await Self.poolCondition(t, "Progressing")?["reason"] as? String == "ProviderQuota"
        }
        let refused = t.controller.providers.openRouter.stats.count(outcome: "rateLimited")
        t.controller.simulator!.setFaults(Faults())
        try await eventually("idle after the wait", timeout: .seconds(30)) { try await t.idle() == 1 }
        #expect(t.controller.providers.openRouter.stats.count(outcome: "rateLimited") == refused, "nothing was sent during the wait")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'NotReadyInTime'") == 0)
        await t.stop()
    }

    /// AgentMail's plan limit (403 `limit_exceeded`) is a condition with its reason, and the
    /// inbox is tried again only after `failedRetry` (ten minutes), not in a retry loop.
    @Test func agentMailPlanLimitIsAConditionNotARetryLoop() async throws {
        var cloud = TestController.fastCloud
        cloud.agentMailInboxLimit = 0
        var reconciler = TestController.fastReconciler
        reconciler.failedRetry = .seconds(600)
        let t = try await TestController.start(simulate: true, reconciler: reconciler, cloud: cloud)
        _ = try await t.apply(Specs.join(Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 1"), Specs.template()))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let agent = try #require(try await t.claim("concierge", owner: "alice", wait: 0).json()["agent"] as? String)
        try await eventually("ToolsReady says the limit") {
            let status = try await t.client.get("/v1/agents/\(agent)").json()["status"] as? [String: Any]
            let tools = (status?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "ToolsReady" }
            return tools?["reason"] as? String == "ProviderLimitExceeded" && (tools?["message"] as? String)?.contains("Inbox limit exceeded") == true
        }
        let backoffs = try await t.client.get("/status").json()["backoffs"] as? [[String: Any]] ?? []
        let email = try #require(backoffs.first { ($0["key"] as? String)?.contains("email") == true })
        let nextText = try #require(email["nextAttempt"] as? String)
        let next = try #require(ISO8601.parse(nextText))
        #expect(next.timeIntervalSinceNow > 250, "the next attempt is minutes away, not a loop: \(email)")
        let creates = t.controller.providers.agentMail.stats.calls.filter { $0.key.hasPrefix("inboxes.create|") }.values.reduce(0) { $0 + $1.count }
        #expect(creates == 1, "one refused create, not a loop")

        // The failing step is on the object: its attempts, error and next attempt, on the condition
        // and on Ready, and in the `/status` of a replica that does not lead.
        try await eventually("the attempt and the next try on the conditions") {
            let status = try await t.client.get("/v1/agents/\(agent)").json()["status"] as? [String: Any]
            let conditions = status?["conditions"] as? [[String: Any]] ?? []
            let tools = conditions.first { $0["type"] as? String == "ToolsReady" }?["message"] as? String ?? ""
            let ready = conditions.first { $0["type"] as? String == "Ready" }?["message"] as? String ?? ""
            return [tools, ready].allSatisfy { $0.contains("provisionTool email attempt 1 failed") && $0.contains("next attempt at \(nextText)") }
        }
        let follower = try await TestController.start(databaseURL: t.databaseURL, reconciler: TestController.noReconciler)
        let seen = try await follower.client.get("/status").json()
        #expect(seen["isLeader"] as? Bool == false)
        let followed = (seen["backoffs"] as? [[String: Any]] ?? []).first { ($0["key"] as? String)?.contains("email") == true }
        #expect(followed?["nextAttempt"] as? String == nextText && followed?["failures"] as? Int == 1
                && followed?["action"] as? String == "provisionTool", "\(String(describing: followed))")
        let described = try await follower.cli("describe agent \(agent)")
        #expect(described.output.contains("attempt 1 failed") && described.output.contains("agent/\(agent)/email"), "\(described.output)")
        await follower.stop()
        await t.stop()
    }
}
