import Foundation
import Testing
import Postgres
import Resources
import Store
import AppTestSupport
import TestSupport

/// The tick's status writes go a hundred rows to a statement: every one of 250 lands, each on its
/// own row, across the statements' boundaries.
@Suite struct StatusWriterTests {
    @Test func everyStatusOfAChunkedWriteLandsOnItsRow() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        let names = (0..<250).map { String(format: "agent%03d", $0) }
        #expect(try await t.apply(([Specs.template()] + names.map { Specs.agent($0) }).joined(separator: "\n---\n")).status == 200)
        let lease = LeaderLease(db: db, holder: "test")
        #expect(await lease.tryAcquire())
        let fence = try #require(await lease.fence())
        var writes = StatusWriter.Writes()
        // Shuffled: the writer orders them itself.
        writes.agents = names.shuffled().map { ($0, JSONValue.object(["phase": .string("Ready"), "instanceId": .string("i-" + $0)]).jsonText) }
        try await StatusWriter.write(fence, writes)
        let rows = try await db.query("SELECT name, status->>'instanceId' AS i FROM pool.agents ORDER BY name")
        #expect(try rows.rows.map { try $0.decode("name", as: String.self) } == names)
        #expect(try rows.rows.allSatisfy { try $0.decode("i", as: String?.self) == "i-" + $0.decode("name", as: String.self) })
        await t.stop()
    }

    /// A claim, whose new agent's foreign key takes `KEY SHARE` on its template, goes through while
    /// a status write holds that template's row (with `FOR UPDATE` it waited for the whole write,
    /// and here ran into its 3 s statement timeout).
    @Test func aClaimGoesThroughWhileAStatusWriteHoldsItsTemplate() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.template())).status == 200)
        _ = try await db.query("""
            INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
            VALUES ('inst000001', 'default', 'idle', 'sha256:seeded', 'http://runtime/1', now())
            """)
        var settings = SessionSettings()
        settings.statementTimeoutMs = 3_000
        let claims = PostgresPool(url: await db.url, size: 1, settings: settings)
        let claim = try await db.transaction { c in
            try await StatusWriter.lockRows(c, "pool.agent_templates", ["concierge"])
            return try await Claims.claimNew(claims, agent: "agent-held", spec: AgentSpec(template: "concierge", owner: "user_1"),
                                             userConfigChecked: false)
        }
        #expect(claim.refusal == nil)
        #expect(claim.instanceID == "inst000001")
        await claims.close()
        await t.stop()
    }
}
