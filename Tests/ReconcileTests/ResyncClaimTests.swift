import Foundation
import Testing
import AppTestSupport
import Postgres
import Reconcile
import Services
import Store
import TestSupport

/// A resync of the whole fleet (Railway's listing, a page per 100 projects) runs beside the ticks:
/// it delays a claim's configure (its invite back) by less than a second. The same claim is timed
/// between resyncs and during one, on the same fleet of 10,000.
@Suite struct ResyncClaimTests {
    @Test func aClaimIsConfiguredWithinASecondWhileTenThousandInstancesResync() async throws {
        var cloud = TestController.fastCloud
        // Each page of the listing takes 50 ms: the resync of 10,000 lasts seconds, not a blink.
        cloud.latency = ["railway": .milliseconds(50)]
        // Resyncs far enough apart that a claim can be made between two.
        let t = try await TestController.start(simulate: true, cloud: cloud) { $0.resyncInterval = .seconds(15) }
        let db = t.controller.db
        _ = try await t.apply(Specs.join(Specs.poolSized(1), """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: plain}
            spec: {agentName: Plain, instructions: "Be plain.", visibility: public}
            """, """
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: bulk}
            spec: {minIdle: 0, maxInstances: 1, image: "ghcr.io/xmtplabs/convos-runtime:production"}
            """))
        try await eventually("one idle instance in the default pool", timeout: .seconds(60)) { try await t.idle("default") == 1 }
        let digest: String = try await db.query("SELECT image_digest FROM pool.instances WHERE pool = 'default' AND state = 'idle'").first!
            .decode("image_digest")

        // 10,000 idle instances in a pool of their own, made at once in the simulator and the rows
        // (its minIdle and maxInstances their count: nothing created or scaled down).
        let count = 10_000
        let ids = (0..<count).map { String(format: "bulk%08d", $0) }
        let madeBody = try await TestHTTPClient(base: t.controller.simulator!.baseURL).send(
            "POST", "/_sim/railway/bulk", body: try JSONSerialization.data(withJSONObject: [
                "names": ids.map { "convos-agent-\($0)" }, "image": "ghcr.io/xmtplabs/convos-runtime@\(digest)", "idle": true]),
            headers: ["Content-Type": "application/json"]).body
        let made = try #require(try JSONSerialization.jsonObject(with: madeBody) as? [[String: String]])
        let base = t.controller.simulator!.baseURL
        func column(_ key: String) -> String { textArray(made.map { $0[key] ?? "" }) }
        try await db.transaction { c in
            _ = try await c.query("""
                INSERT INTO services.instances (instance_id, railway_project_id, railway_environment_id, railway_service_id, url, image, state,
                                                deploy_status, deployed_at, configured_at, variables_checked_at, runtime_key)
                SELECT substr(n, 14), p, e, s, $5 || '/runtime/' || s, 'ghcr.io/xmtplabs/convos-runtime@' || $6, 'ready', 'SUCCESS', now(), now(), now(), g
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $7::text[]) AS u(n, p, e, s, g)
                """, [column("name"), column("projectId"), column("environmentId"), column("serviceId"), base, digest, column("gatewayToken")])
            _ = try await c.query("""
                INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
                SELECT instance_id, 'bulk', 'idle', $1, url, now() FROM services.instances WHERE instance_id LIKE 'bulk%'
                """, [digest])
            _ = try await c.query("UPDATE pool.pools SET spec = spec || jsonb_build_object('minIdle', $1::int, 'maxInstances', $1::int) WHERE name = 'bulk'",
                                  [count])
        }
        // The leader has taken them in, and the resyncs (every second in tests) list them all.
        try await eventually("the fleet seen", timeout: .seconds(400)) {
            (await t.controller.reconciler.snapshot.instances["bulk"]?["idle"] ?? 0) == count
        }
        let local = try #require(t.controller.services as? InProcessServices)
        // Needs an idle instance in the default pool: minIdle 1 refills it after each claim.
        func claim(_ owner: String) async throws -> Duration {
            try await eventually("an idle instance to claim", timeout: .seconds(60)) { try await t.idle("default") == 1 }
            let started = ContinuousClock.now
            let response = try await t.claim("plain", owner: owner, wait: 10)
            let took = ContinuousClock.now - started
            #expect(response.status == 201 || response.status == 200)
            #expect((try response.json()["inviteUrl"] as? String) != nil, "configured: the invite came back")
            return took
        }
        try await eventually("between resyncs", timeout: .seconds(120)) { !(await local.isResyncing) }
        let between = try await claim("u1")
        try await eventually("a resync under way", timeout: .seconds(120)) { await local.isResyncing }
        let during = try await claim("u2")
        #expect(await local.isResyncing, "the claim was timed during the resync")
        #expect(during - between < .seconds(1), "configured in \(during) during the resync of 10,000, \(between) between two")
        await t.stop()
    }
}
