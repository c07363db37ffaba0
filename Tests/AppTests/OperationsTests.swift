import Foundation
import Testing
import AppTestSupport
import TestSupport

/// What operators watch: `/status`, `/metrics` (held to promtool), and the `status`/`claim` commands.
@Suite struct OperationsTests {
    @Test func statusSummarizesPoolAgentsLeaderTickAndProviders() async throws {
        let t = try await TestController.start(token: "ops-token", simulate: true)
        let auth = ["Authorization": "Bearer ops-token", "Content-Type": "application/yaml"]
        _ = try await t.apply(Specs.join(Specs.poolSized(2), Specs.conciergeTemplate), headers: auth)
        try await eventually("2 idle") { try await t.idle() == 2 }
        #expect(try await t.client.get("/status").status == 401)
        try await eventually("status shows 2 idle") {
            let s = try await t.client.get("/status", headers: auth).json()
            return ((s["pools"] as? [String: Any])?["default"] as? [String: Int])?["idle"] == 2
        }
        // The lease as stored: a renewal late under a loaded machine (tests' lease is 3 s) shows
        // none for a moment, so it is waited for; the rest is read from the same answer.
        var s: [String: Any] = [:]
        try await eventually("the lease shown") {
            s = try await t.client.get("/status", headers: auth).json()
            return (s["leader"] as? [String: Any])?["fencingToken"] as? Int != nil
        }
        #expect(s["isLeader"] as? Bool == true)
        #expect(((s["lastTick"] as? [String: Any])?["count"] as? Int ?? 0) > 0)
        let providers = (s["providers"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(providers == ["railway", "ghcr", "openrouter", "agentmail", "telnyx", "bankr"])
        // This replica's connection pool: its size and the checkouts the ticks made.
        let database = s["database"] as? [String: Any]
        #expect(database?["connections"] as? Int == 24 && (database?["checkouts"] as? Int ?? 0) > 0)
        #expect(database?["checkoutWaits"] as? Int != nil && database?["longestCheckoutWaitMs"] != nil)
        // The claims' own pool beside it (TestController's size): none used yet.
        let claims = s["claimDatabase"] as? [String: Any]
        #expect(claims?["connections"] as? Int == 4 && claims?["checkouts"] as? Int == 0)
        await t.stop()
    }

    @Test func metricsPassPromtool() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("1 idle") { try await t.idle() == 1 }
        #expect(try await t.claim("concierge", owner: "alice").status == 200)
        let scrape = try await t.client.get("/metrics")
        #expect(scrape.status == 200, "public: no token needed")
        let text = scrape.text
        for name in ["convos_reconcile_ticks_total", "convos_reconcile_tick_duration_seconds_bucket", "convos_reconcile_actions_total",
                     "convos_queue_depth", "convos_backoff_keys", "convos_provider_calls_total", "convos_provider_breaker_state",
                     "convos_instances", "convos_agents", "convos_claims_total", "convos_claim_duration_seconds_bucket",
                     "convos_http_requests_total", "convos_leader"] {
            #expect(text.contains("\n\(name)") || text.hasPrefix(name), "missing \(name)")
        }
        let file = "/tmp/convos-metrics-\(t.controller.port).txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let check = await shellOutput("promtool check metrics < \(file)", mergeErrors: true)
        #expect(check.status == 0, "promtool: \(check.output)")
        #expect(check.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool complained: \(check.output)")
        unlink(file)
        await t.stop()
    }

    @Test func statusAndClaimCommands() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let claim = await shellOutput("CONTROLLER_URL=\(t.url) \(bin) claim --template concierge --owner alice", mergeErrors: true)
        #expect(claim.status == 0)
        #expect(claim.output.hasPrefix("agent/agent-") && claim.output.contains(" claimed instance "))
        let refused = await shellOutput("CONTROLLER_URL=\(t.url) \(bin) claim --template nope --owner alice", mergeErrors: true)
        #expect(refused.status == 3)
        let status = await shellOutput("CONTROLLER_URL=\(t.url) \(bin) status", mergeErrors: true)
        #expect(status.status == 0)
        #expect(status.output.contains("POOL") && status.output.contains("default") && status.output.contains("LEADER"), "\(status.output)")
        await t.stop()
    }
}
