import Foundation
import Testing
import Postgres
import Resources
import Store
import AppTestSupport
import TestSupport

/// The dirty log a tick reads instead of the fleet (`StoredState.changes`): a write is seen by the
/// first read whose mark it is not below, and only writes of desired state or of an instance are
/// logged, never the tick's own status writes.
@Suite struct DirtyLogTests {
    /// A change committed after a read's mark is in the next read; one still open when a read
    /// takes its mark is not lost (the mark stays below its transaction), and is seen once it commits.
    @Test func aWriteIsSeenByTheNextReadEvenWhenItCommitsLate() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.template(), Specs.agent("alice"), Specs.agent("bob"))).status == 200)
        var mark = try await StoredState.changes(db, since: nil, digests: [:], failureWindow: 600).mark
        // bob's change is open while the next read takes its mark; alice's commits at once.
        let other = PostgresPool(url: t.databaseURL, size: 1)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let (written, wrote) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await other.transaction { c in
                _ = try await c.query("UPDATE pool.agents SET spec = spec || '{\"owner\": \"user_2\"}'::jsonb WHERE name = 'bob'")
                wrote.yield()
                for await _ in gate { break }
            }
        }
        for await _ in written { break }
        _ = try await db.query("UPDATE pool.agents SET spec = spec || '{\"owner\": \"user_3\"}'::jsonb WHERE name = 'alice'")
        let first = try await StoredState.changes(db, since: mark, digests: [:], failureWindow: 600)
        // At least alice: a mark is the oldest transaction open anywhere in the cluster, so a read
        // may also return rows an earlier one did (reading again is harmless; missing one is not).
        #expect(first.changed?.agents.contains("alice") == true)
        mark = first.mark
        open.yield()
        try await holder.value
        let second = try await StoredState.changes(db, since: mark, digests: [:], failureWindow: 600)
        #expect(second.changed?.agents.contains("bob") == true, "the late commit is seen: \(String(describing: second.changed))")
        await other.close()
        await t.stop()
    }

    /// The tick is the one writer of status and keeps what it wrote: a status write logs nothing
    /// (migration v0019), so the next tick does not read those agents and compute their statuses again.
    @Test func aStatusWriteIsNotLoggedAndASpecChangeIs() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.template(), Specs.agent("alice"))).status == 200)
        // Counted in the log itself: a read's mark may sit below earlier writes (another transaction
        // open in the cluster), which a read would return again.
        func logged(_ key: String) async throws -> Int { try await t.count("SELECT count(*)::int AS n FROM pool.dirty WHERE key = '\(key)'") }
        let before = (try await logged("alice"), try await logged("concierge"))
        let lease = LeaderLease(db: db, holder: "test")
        #expect(await lease.tryAcquire())
        let fence = try #require(await lease.fence())
        var writes = StatusWriter.Writes()
        writes.agents = [("alice", JSONValue.object(["phase": .string("Ready")]).jsonText)]
        writes.templates = [("concierge", JSONValue.object(["agents": .int(1)]).jsonText)]
        try await StatusWriter.write(fence, writes)
        #expect(try await db.query("SELECT status->>'phase' AS p FROM pool.agents WHERE name = 'alice'").first?.decode("p") == "Ready")
        let after = (try await logged("alice"), try await logged("concierge"))
        #expect(after == before, "a status write logs nothing")
        _ = try await db.query("UPDATE pool.agents SET spec = spec || '{\"owner\": \"user_2\"}'::jsonb WHERE name = 'alice'")
        let changed = try await logged("alice")
        #expect(changed == before.0 + 1, "a spec change is logged")
        await t.stop()
    }
}
