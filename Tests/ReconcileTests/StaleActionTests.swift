import Foundation
import Testing
import Reconcile
import Services
import Store
import Postgres
import Resources
import Sync
import AppTestSupport
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
        let executor = Executor(db: db, fence: fence, services: t.controller.services, budget: CreateBudget(cap: 16), configured: NoListener())
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

    /// A deposed leader's action in flight writes nothing to the services schema either: its calls
    /// into services run under its fence, whose term ran out by the replica's own clock (a pause,
    /// a partition) before a new leader could take the lease.
    @Test func aDeposedLeadersActionWritesNothingToServices() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let db = t.controller.db
        let services = try #require(t.controller.services as? InProcessServices)
        _ = try await services.createInstance("fence00001", image: Specs.digestImage)
        let clock = ManualClock(now: Date())
        let old = LeaderLease(db: db, holder: "old", duration: .seconds(30), clock: clock)
        #expect(await old.tryAcquire())
        let stale = try #require(await old.fence())
        #expect(stale.deadline.holds)
        // The old term's 30 s pass without a renewal; the lease expires and a new leader takes it.
        clock.advance(by: .seconds(30))
        #expect(!stale.deadline.holds)
        _ = try await db.query("UPDATE pool.leases SET expires_at = now() - interval '1 second'")
        let new = LeaderLease(db: db, holder: "new", duration: .seconds(30))
        #expect(await new.tryAcquire())

        await #expect(throws: Fence.Lost.self) {
            try await Fencing.$current.withValue(stale.term) { try await services.destroy("fence00001") }
        }
        let state: String = try await db.query("SELECT state FROM services.instances WHERE instance_id = 'fence00001'").first!.decode("state")
        #expect(state == "ready", "the stale destroy changed nothing")
        #expect(await t.controller.simulator!.ledger().contains { $0.name == "convos-agent-fence00001" && $0.kind == "project" })
        // The current leader's fence, and the API's calls with none, go through.
        let current = try #require(await new.fence())
        try await Fencing.$current.withValue(current.term) { try await services.destroy("fence00001") }
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.instances WHERE instance_id = 'fence00001' AND state = 'deleted'") == 1)
        await t.stop()
    }

    /// The deadline moves with each renewal, ends at once on release, and a new term's fence is
    /// not the old one's: an old fence stays stale after the same replica leads again.
    @Test func theLeaseDeadlineFollowsRenewalsAndTerms() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let clock = ManualClock(now: Date())
        let lease = LeaderLease(db: t.controller.db, holder: "one", duration: .seconds(10), clock: clock)
        #expect(await lease.tryAcquire())
        let first = try #require(await lease.fence())
        clock.advance(by: .seconds(8))
        #expect(first.deadline.holds, "8 s into a 10 s lease, a second kept back")
        #expect(await lease.renew())
        clock.advance(by: .seconds(8))
        #expect(first.deadline.holds, "renewed at 8 s: good until 17 s")
        clock.advance(by: .seconds(1.5))
        #expect(!first.deadline.holds)
        #expect(await lease.renew())
        #expect(first.deadline.holds, "renewed while Postgres still held it")
        await lease.release()
        #expect(!first.deadline.holds, "released: nothing passes")
        #expect(await lease.tryAcquire())
        let second = try #require(await lease.fence())
        #expect(second.deadline.holds)
        #expect(!first.deadline.holds, "the old term's fence stays stale")
        await t.stop()
    }

    /// The lease row's locks: the holder renews while its writes are open (a renewal waiting behind
    /// a stream of writes lost the lease under load), and a new holder's acquire waits for the old
    /// term's open write, so that write lands before the new term and none after.
    @Test func renewalsPassOpenWritesAndAnAcquireWaitsForThem() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        let old = LeaderLease(db: db, holder: "old", duration: .seconds(30))
        #expect(await old.tryAcquire())
        let fence = try #require(await old.fence())
        let (release, releaseIt) = AsyncStream<Void>.makeStream()
        let (opened, openedIt) = AsyncStream<Void>.makeStream()
        let write = Task {
            try await fence.transaction { c in
                _ = try await c.query("INSERT INTO pool.events (kind, name, reason, message) VALUES ('Pool', 'default', 'LateWrite', 'old term')")
                openedIt.yield()
                for await _ in release { break }
            }
        }
        for await _ in opened { break }
        #expect(await old.renew(), "the renewal does not wait for the open write (it would time out after 15 s)")
        // The term runs out; another replica's acquire must wait for the write still open.
        _ = try await db.query("UPDATE pool.leases SET expires_at = now() - interval '1 second'")
        let new = LeaderLease(db: db, holder: "new", duration: .seconds(30))
        let acquire = Task { await new.tryAcquire() }
        var waiting = 0
        for _ in 0..<500 where waiting == 0 {
            waiting = try await t.count("""
                SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM pool.leases%FOR UPDATE%'
                """)
            if waiting == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(waiting == 1, "the acquire waits on the lease row")
        releaseIt.yield()
        try await write.value
        #expect(await acquire.value)
        #expect(await new.token == 2)
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'LateWrite'") == 1, "the open write landed, before the new term")
        await t.stop()
    }
}
