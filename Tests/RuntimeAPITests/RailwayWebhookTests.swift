import Foundation
import Services
import Testing
import Postgres
import Resources
import Simulator
import AppTestSupport
import TestSupport

/// Providers as they limit us, end to end: Railway's per-token creation pace, a long
/// `Retry-After`, and deployment events instead of polling (with the resync behind them).
/// Railway's deployment events at `/webhooks/railway/SECRET` (RuntimeAPI): the rule registered once,
/// events that drive transitions, a wrong secret or body refused, and a resync that covers lost ones.
@Suite struct RailwayWebhookTests {
    /// With `PUBLIC_URL`, the notification rule is registered once (found, not made again) and
    /// deployment events make instances idle long before the 60 s fallback poll would.
    @Test func webhookEventsDriveTransitionsAndTheRuleIsNeverDuplicated() async throws {
        let t = try await TestController.start(simulate: true) {
            $0.publicURL = "http://127.0.0.1:0"
            $0.resyncInterval = .seconds(3600)
        }
        let sim = t.controller.simulator!
        try await eventually("rule registered") { await sim.stats().notificationRules == 1 }
        let local = t.controller.services as! InProcessServices
        let secret = try await local.webhookSecret(configured: nil)
        #expect(try await local.ensureNotificationRule(url: "http://127.0.0.1:\(t.controller.port)/webhooks/railway/\(secret)") == false)
        #expect(await sim.stats().notificationRules == 1)
        let started = ContinuousClock.now
        _ = try await t.apply(Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 2"))
        try await eventually("2 idle", timeout: .seconds(30)) { try await t.idle() == 2 }
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(await sim.stats().webhooksSent >= 2)
        // A wrong secret is not ours: 404, nothing woken.
        let wrong = try await t.client.send("POST", "/webhooks/railway/not-the-secret", body: Data(#"{"type":"Deployment.deployed"}"#.utf8),
                                           headers: ["Content-Type": "application/json"])
        #expect(wrong.status == 404)
        let bad = try await t.client.send("POST", "/webhooks/railway/\(secret)", body: Data("{".utf8), headers: ["Content-Type": "application/json"])
        #expect(bad.status == 400)
        let status = try await t.client.get("/status").json()
        #expect((status["railway"] as? [String: Any])?["mode"] as? String == "webhooks")
        #expect(!(try await t.client.get("/status").text).contains(secret), "the secret is in no GET")
        await t.stop()
    }

    /// Every event lost: the resync still sees each deployment finish.
    @Test func lostWebhooksAreCaughtByTheResync() async throws {
        var cloud = TestController.fastCloud
        cloud.webhookLossRate = 1
        let t = try await TestController.start(simulate: true, cloud: cloud) {
            $0.publicURL = "http://127.0.0.1:0"
            $0.resyncInterval = .seconds(2)
        }
        _ = try await t.apply(Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 2"))
        try await eventually("2 idle without a single event", timeout: .seconds(30)) { try await t.idle() == 2 }
        #expect(await t.controller.simulator!.stats().webhooksLost >= 2)
        #expect(await t.controller.simulator!.stats().webhooksSent == 0)
        await t.stop()
    }
}
