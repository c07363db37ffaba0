import Foundation
import Testing
import AppTestSupport
import TestSupport
import Sync
@testable import Reconcile

@Suite struct QuietTickTests {
    /// Every row's version (xmin) in both schemas, and the event count; the lease's heartbeat aside.
    static let versions = """
        SELECT string_agg(v, ',' ORDER BY v) AS v FROM (
          SELECT 'p' || name || xmin::text AS v FROM pool.pools UNION ALL SELECT 't' || name || xmin::text FROM pool.agent_templates
          UNION ALL SELECT 'a' || name || xmin::text FROM pool.agents UNION ALL SELECT 'i' || instance_id || xmin::text FROM pool.instances
          UNION ALL SELECT 's' || instance_id || xmin::text FROM services.instances
          UNION ALL SELECT 'r' || instance_id || tool || xmin::text FROM services.tool_resources
          UNION ALL SELECT 'e' || count(*)::text FROM pool.events) x
        """

    /// The heap is given back after the ticks that read the whole fleet (`releaseHeap`), not
    /// after every tick: the first tick of a term reads the whole, the quiet ones after it do not.
    @Test func onlyAWholeReadReleasesTheHeap() async throws {
        let calls = Locked(0)
        var settings = TestController.fastReconciler
        settings.releaseHeap = { calls.withLock { $0 += 1 } }
        let t = try await TestController.start(reconciler: settings)
        try await eventually("ten ticks") { await t.controller.reconciler.snapshot.ticks >= 10 }
        #expect(calls.withLock { $0 } == 1, "one whole read (the term's first tick); no listing without Railway")
        await t.stop()
    }

    /// After a whole read or a listing, or once a burst of actions has drained; not while actions
    /// run, nor after a few.
    @Test(arguments: [
        (true, false, false, 0, true), (false, true, false, 0, true),
        (false, false, true, 1_000, true), (false, false, true, 5_000, true),
        (false, false, false, 5_000, false), (false, false, true, 999, false), (false, false, true, 0, false),
    ])
    func theHeapIsReleasedAfterTheWorkThatFreesMost(_ c: (wholeRead: Bool, listed: Bool, drained: Bool, actions: Int, releases: Bool)) {
        #expect(Reconciler.releasesHeap(wholeRead: c.wholeRead, listed: c.listed, drained: c.drained, actions: c.actions, every: 1_000) == c.releases)
    }

    @Test func aQuietTickWritesNothing() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(2), Specs.conciergeTemplate))
        try await eventually("2 idle") { try await t.idle() == 2 }
        let agent = try #require(try await t.claim("concierge", owner: "alice").json()["agent"] as? String)
        try await eventually("Ready, refilled, template status counted") {
            let ready = try await t.phase(agent) == "Ready"
            let idle = try await t.idle()
            let status = try await t.client.get("/v1/agenttemplates/concierge").json()["status"] as? [String: Any]
            return ready && idle == 2 && status?["agentsSynced"] as? Int == 1 && status?["agents"] as? Int == 1
        }
        // Settled: the same versions before and after three whole ticks (a tick that read the state
        // before the last change may still be writing when two quick reads agree).
        var before = ""
        try await eventually("settled") {
            let start = await t.controller.reconciler.snapshot.ticks
            let now: String = try await t.controller.db.query(Self.versions).first!.decode("v")
            try await eventually("three ticks") { await t.controller.reconciler.snapshot.ticks >= start + 3 }
            defer { before = now }
            return try await t.controller.db.query(Self.versions).first!.decode("v") == now
        }
        let ticks = await t.controller.reconciler.snapshot.ticks
        try await eventually("ten more ticks") { await t.controller.reconciler.snapshot.ticks >= ticks + 10 }
        let after: String = try await t.controller.db.query(Self.versions).first!.decode("v")
        #expect(after == before, "a quiet tick wrote something")
        await t.stop()
    }
}
