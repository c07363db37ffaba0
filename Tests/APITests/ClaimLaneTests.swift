import Foundation
import Testing
import Postgres
import AppTestSupport
import TestSupport

/// Claims run on connections of their own (`DATABASE_CLAIM_POOL_SIZE`): with every connection of
/// the shared pool taken, as the reconciler's actions take them under a burst, a claim still binds
/// at once. (On the shared pool it would wait for one, here until the client gave up.)
@Suite struct ClaimLaneTests {
    @Test func aClaimBindsWhileEverySharedConnectionIsTaken() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler) { $0.databasePoolSize = 2 }
        let db = t.controller.db
        #expect(try await t.apply(Specs.join(Specs.pool, Specs.template())).status == 200)
        _ = try await db.query("""
            INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
            VALUES ('inst000001', 'default', 'idle', 'sha256:seeded', 'http://runtime/1', now())
            """)
        // Both shared connections held until the claim has answered.
        let (taken, took) = AsyncStream<Void>.makeStream()
        let gates = (0..<2).map { _ in AsyncStream<Void>.makeStream() }
        let holders = gates.map { gate in
            Task {
                try await db.withConnection { _ in
                    took.yield()
                    for await _ in gate.stream {}
                }
            }
        }
        var seen = 0
        for await _ in taken {
            seen += 1
            if seen == holders.count { break }
        }
        let claim = try await t.claim("concierge", owner: "user_1", wait: 0)
        for gate in gates { gate.continuation.finish() }
        for holder in holders { try await holder.value }
        #expect(claim.status == 200)
        #expect(try claim.json()["instanceId"] as? String == "inst000001")
        // It went through the claims' pool, which `/status` reports beside the shared one.
        let status = try await t.client.get("/status").json()
        #expect((status["claimDatabase"] as? [String: Any])?["checkouts"] as? Int == 1)
        await t.stop()
    }
}
