import Foundation
import Testing
import Postgres
import Resources
import Store
import AppTestSupport
import TestSupport

/// A claim starts its agent's tools from the template its own statement read: the same tools the
/// reconciler would plan from the bound agent's row, with no read of their own.
@Suite struct ClaimToolsTests {
    @Test func aClaimStartsTheToolsItsBoundAgentWouldPlan() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.conciergeTemplate)).status == 200)
        _ = try await db.query("""
            INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
            VALUES ('inst000001', 'default', 'idle', 'sha256:seeded', 'http://runtime/1', now())
            """)
        let spec = AgentSpec(template: "concierge", owner: "user_1")
        let claim = try await Claims.claimNew(db, agent: "agent-tools", spec: spec, userConfigChecked: false)
        let instance = try #require(claim.instanceID)
        let lease = LeaderLease(db: db, holder: "test")
        #expect(await lease.tryAcquire())
        let writes = InstanceWrites(db: db, fence: try #require(await lease.fence()))
        let bound = try #require(try await writes.bound(agent: "agent-tools", instance: instance))
        let planned = bound.config.toolsToProvision([:])
        #expect(planned.contains(.email) && planned.contains(.sms) && planned.contains(.crypto))
        #expect(claim.toolsToStart(spec) == planned)
        await t.stop()
    }
}
