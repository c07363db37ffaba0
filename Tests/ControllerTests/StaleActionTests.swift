import Foundation
import Testing
@testable import Controller
import Postgres
import Resources
import TestSupport

/// Actions planned from a stale tick, or still in flight from a deposed leader, run beside the
/// current ones: each must find its work done and stop, never fail on a constraint.
@Suite struct StaleActionTests {
    @Test func concurrentBindsOfOneAgentBindItOnceWithoutAnError() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.template(), Specs.agent("alice"))).status == 200)
        _ = try await db.query("""
            INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
            SELECT 'idle' || lpad(g::text, 8, '0'), 'default', 'idle', 'sha256:0', 'http://idle/' || g, now() FROM generate_series(1, 8) g
            """)
        let lease = LeaderLease(db: db, holder: "test")
        #expect(await lease.tryAcquire())
        let fence = try #require(await lease.fence())
        let executor = Executor(db: db, fence: fence, services: t.controller.services, creates: { _, _, _ in }, configured: { _ in })
        // Eight at once: the work queue never does this with one key, but two ticks or two terms can.
        let outcomes = await withTaskGroup(of: ReconcileOutcome.self) { group in
            for _ in 0..<8 { group.addTask { await executor.run(.bindAgent(agent: "alice", pool: "default")) } }
            return await group.reduce(into: [ReconcileOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0 == .converged }, "\(outcomes)")
        let bound = try await db.query("SELECT count(*) AS n FROM pool.instances WHERE agent = 'alice'").first!.decode("n", as: Int.self)
        #expect(bound == 1)
        let claimedEvents = try await db.query("SELECT count(*) AS n FROM pool.events WHERE name = 'alice' AND reason = 'Claimed'")
        #expect(try claimedEvents.first!.decode("n", as: Int.self) == 1, "one bind, one event")
        await t.stop()
    }
}
