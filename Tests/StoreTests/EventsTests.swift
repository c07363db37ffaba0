import Foundation
import Testing
import CLI
import Resources
import AppTestSupport
import TestSupport

/// Events over the API and in `describe`: filtered by object, newest first, bad filters refused by name.
@Suite struct EventsTests {
    @Test func eventsFilterByObjectNewestFirstAndDescribeShowsThem() async throws {
        let t = try await TestController.start(simulate: true)
        let pool = Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 1")
        #expect(try await t.apply(Specs.join(pool, Specs.template(), Specs.agent("alice"))).status == 200)
        try await eventually("alice is bound and configured") {
            let events = try await t.client.get("/v1/events?kind=agent&name=alice").json()["items"] as? [[String: Any]] ?? []
            return events.contains { $0["reason"] as? String == "Configured" }
        }
        let items = try await t.client.get("/v1/events?kind=Agent&name=alice").json()["items"] as? [[String: Any]] ?? []
        #expect(items.allSatisfy { $0["kind"] as? String == "Agent" && $0["name"] as? String == "alice" })
        let reasons = items.compactMap { $0["reason"] as? String }
        let claimed = try #require(reasons.firstIndex(of: "Claimed")), configured = try #require(reasons.firstIndex(of: "Configured"))
        #expect(configured < claimed, "newest first: \(reasons)")
        let times = items.compactMap { ($0["at"] as? String).flatMap(ISO8601.parse) }
        #expect(times == times.sorted(by: >))
        // Instances have events of their own, apart from the agent's.
        let instances = try await t.client.get("/v1/events?kind=instance&limit=1").json()["items"] as? [[String: Any]] ?? []
        #expect(instances.count == 1 && instances.first?["kind"] as? String == "Instance")

        for (query, field) in [("kind=nope", "kind"), ("limit=0", "limit"), ("limit=lots", "limit"), ("name=", "name")] {
            let refused = try await t.client.get("/v1/events?\(query)")
            #expect(refused.status == 400, "\(query)")
            let details = (try refused.json()["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []
            #expect(details.first?["path"] as? String == field, "\(query): \(details)")
        }

        let described = try await t.cli("describe agent alice")
        #expect(described.status == 0, "\(described.output)")
        for expected in ["Name:", "alice", "Spec:", "template:", "concierge", "Status:", "Events:", "Claimed", "Configured"] {
            #expect(described.output.contains(expected), "describe lacks \(expected):\n\(described.output)")
        }
        let missing = try await t.cli("describe agent nobody")
        #expect(missing.status == 3 && missing.output.contains("not found"), "\(missing.output)")
        await t.stop()
    }

    /// Events are kept by age and by count: older than the retention, or beyond the newest
    /// `eventLimit`, they go at the leader's next prune.
    @Test func eventsAreKeptByAgeAndByCount() async throws {
        var settings = TestController.fastReconciler
        settings.eventRetention = .seconds(3600)
        settings.eventLimit = 5
        settings.pruneEvery = .zero
        let t = try await TestController.start(reconciler: settings)
        let db = t.controller.db
        _ = try await db.query("INSERT INTO pool.events (at, kind, name, reason) SELECT now() - interval '2 hours', 'Agent', 'old', 'Old' FROM generate_series(1, 3)")
        _ = try await db.query("INSERT INTO pool.events (kind, name, reason, message) SELECT 'Agent', 'new', 'New', g::text FROM generate_series(1, 10) g")
        try await eventually("pruned") {
            let all = try await t.count("SELECT count(*)::int AS n FROM pool.events")
            let old = try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE name = 'old'")
            return all <= 5 && old == 0
        }
        let newest = try await t.client.get("/v1/events?name=new&limit=1").json()["items"] as? [[String: Any]] ?? []
        #expect(newest.first?["message"] as? String == "10", "the newest are kept")
        await t.stop()
    }

    @Test func describeSaysWhyAnAgentWaitsWithItsNextRetry() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let at = { (s: Double) in JSONValue.string(ISO8601.format(now.addingTimeInterval(s))) }
        let agent = JSONValue.object([
            "metadata": .object(["name": "alice", "generation": .int(1), "createdAt": at(-300)]),
            "spec": .object(["template": "concierge", "owner": "user_1"]),
            "status": .object(["phase": "Provisioning", "instanceId": "inst00000001", "conditions": .array([
                .object(["type": "Ready", "status": "False", "reason": "ToolFailed", "message": "sms: telnyx said 503", "lastTransitionTime": at(-60)]),
            ])]),
        ])
        let backoffs: [JSONValue] = [
            .object(["key": "agent/alice/sms", "failures": .int(3), "lastError": "telnyx said 503", "nextAttempt": at(12)]),
            .object(["key": "agent/bob/sms", "failures": .int(1), "lastError": "not alice's", "nextAttempt": at(5)]),
        ]
        let events: [JSONValue] = [.object(["at": at(-60), "type": "Warning", "reason": "ToolFailed", "message": "sms: telnyx said 503"])]
        let text = DescribeCommand.render(kind: "Agent", object: agent, events: events, backoffs: backoffs, now: now)
        #expect(text.contains("Ready") && text.contains("ToolFailed") && text.contains("60s"))
        #expect(text.contains("agent/alice/sms") && text.contains("in 12s") && text.contains("telnyx said 503"))
        #expect(!text.contains("agent/bob/sms"), "another agent's backoff is not shown")
        #expect(text.contains("Warning"))
    }
}
