import Foundation
import Testing
import Postgres
import Resources
import Store
import AppTestSupport
import TestSupport

/// A whole read (`StoredState.stored` with nothing named) takes agents and instances in pages of
/// `StoredState.pageRows`, so a fleet's rows are never all held as text at once.
@Suite struct StoredStateTests {
    /// Twice a page and one more of each: every row comes back exactly once, in one snapshot's
    /// pages; a read of named rows takes just those.
    @Test func aWholeReadTakesEveryRowAcrossPages() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.template())).status == 200)
        let n = StoredState.pageRows * 2 + 1
        _ = try await db.query("""
            INSERT INTO pool.agents (name, spec, template, owner_id)
            SELECT 'agent-' || g, jsonb_build_object('template', 'concierge', 'owner', 'user_1'), 'concierge', 'user_1' FROM generate_series(1, $1::int) g
            """, [String(n)])
        _ = try await db.query("""
            INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
            SELECT 'inst' || lpad(g::text, 6, '0'), 'default', 'idle', 'sha256:seeded', 'http://runtime/' || g, now() FROM generate_series(1, $1::int) g
            """, [String(n)])
        let whole = try await StoredState.changes(db, since: nil, digests: [:], failureWindow: 600).rows
        #expect(whole.instances.count == n)
        #expect(Set(whole.instances.map(\.view.id)).count == n, "no instance twice")
        #expect(whole.agents.count == n && Set(whole.agents.map(\.name)).count == n)
        #expect(whole.agentMeta.count == n)
        #expect(whole.instances.allSatisfy { $0.view.state == .idle && $0.view.digest == "sha256:seeded" })
        var named = StoredState.Changed()
        named.instances = ["inst000001", String(format: "inst%06d", n)]
        named.agents = ["agent-7"]
        let rows = try await db.transaction { c in
            try await StoredState.stored({ try await c.query($0, $1) }, digests: [:], failureWindow: 600, only: named)
        }
        #expect(Set(rows.instances.map(\.view.id)) == named.instances)
        #expect(rows.agents.map(\.name) == ["agent-7"])
        await t.stop()
    }
}
