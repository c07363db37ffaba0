import Foundation
import Testing
import AppTestSupport
import Reconcile
import Resources
import Simulator

/// Crash loops are bounded: an image whose deploys always fail costs a few projects, the pool says
/// why it stopped, and a good digest brings it back.
@Suite struct CrashLoopTests {
    @Test func anImageThatAlwaysFailsMakesThreeProjectsThenAGoodDigestRecovers() async throws {
        var cloud = TestController.fastCloud
        cloud.deployFailRate = 1
        let t = try await TestController.start(simulate: true, cloud: cloud)
        let sim = t.controller.simulator!
        func projects() async -> Int { await sim.events().filter { $0.provider == "railway" && $0.action == "create" && $0.kind == "project" }.count }
        func progressing() async throws -> [String: Any]? {
            let status = try await t.client.send("GET", "/v1/pools/default").json()["status"] as? [String: Any]
            return (status?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "Progressing" }
        }
        _ = try await t.apply(Specs.poolSized(5))
        try await eventually("the pool says it stopped") { try await progressing()?["reason"] as? String == "RepeatedFailures" }
        let condition = try #require(try await progressing())
        let message = try #require(condition["message"] as? String)
        #expect(condition["status"] as? String == "False")
        #expect(message.contains("DeployFailed") && message.contains("next try at"), "the last error and the next try: \(message)")
        // Forty ticks later (100 ms each) nothing more was made: without the rule, each failure was replaced at once.
        let ticks = await t.controller.reconciler.snapshot.ticks
        try await eventually("forty more ticks", timeout: .seconds(60)) { await t.controller.reconciler.snapshot.ticks >= ticks + 40 }
        let made = await sim.events().filter { $0.provider == "railway" && $0.kind == "project" }.map { "\($0.action) \($0.name)" }
        let failed = try await t.controller.db.query("SELECT instance_id, digest, reason FROM pool.pool_failures").rows
            .map { "\(try $0.decode("instance_id", as: String.self)) \(try $0.decode("digest", as: String?.self) ?? "-") \(try $0.decode("reason", as: String.self))" }
        #expect(await projects() == 3, "three projects for a digest that never deploys: \(made); failures \(failed)")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.pool_failures") == 3)

        // A good image: a new digest counts from zero, and the pool fills.
        cloud.deployFailRate = 0
        await sim.setOptions(cloud)
        let moved = await sim.moveTag(repository: "xmtplabs/convos-runtime", tag: "production")
        try await eventually("five idle on the new digest") {
            try await t.count("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'idle' AND image_digest = $1", [moved]) == 5
        }
        try await eventually("progressing again") { try await progressing()?["reason"] as? String != "RepeatedFailures" }
        await t.stop()
    }

    /// The pool's condition is computed by the rule the planner obeys: held, it says until when.
    @Test func statusSaysRepeatedFailuresWithTheNextTry() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let failures = [90.0, 60, 30].map { PoolFailure(digest: digest, generation: 4, reason: "DeployCrashed", at: now - $0) }
        let pool = PoolView(name: "default", spec: PoolSpec(minIdle: 2, maxInstances: 5, image: "ghcr.io/x/y:production"), digest: digest,
                            generation: 4, failures: failures)
        let status = StatusBuilder.pool(pool, generation: 4, previous: nil, instances: [], now: now)
        let progressing = try? #require(status.conditions.first { $0.type == "Progressing" })
        #expect(progressing?.status == "False" && progressing?.reason == "RepeatedFailures")
        #expect(progressing?.message.contains("DeployCrashed") == true)
        #expect(progressing?.message.contains(ISO8601.format(now - 90 + 600)) == true, "next try when the oldest leaves the window")
        // A new generation is not held.
        var changed = pool
        changed.generation = 5
        #expect(StatusBuilder.pool(changed, generation: 5, previous: nil, instances: [], now: now).conditions.first { $0.type == "Progressing" }?.reason == "Steady")
    }

    /// A failing create or start of one of the pool's instances is on the pool's `Progressing`,
    /// with its attempts and next attempt; another pool's is not.
    @Test func aFailingStartIsOnThePoolsCondition() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let pool = PoolView(name: "default", spec: PoolSpec(minIdle: 2, maxInstances: 5, image: "ghcr.io/x/y:production"), digest: "sha256:1")
        let starting = InstanceView(id: "inst00000001", pool: "default", state: .provisioning, createdAt: now - 30, setup: .creating, health: .deploying)
        let backoffs = [
            "instance/inst00000001": WorkQueue.KeyState(failures: 2, lastError: "railway: 503", nextAttempt: now + 4, action: "startInstance"),
            "instance/other0000001": WorkQueue.KeyState(failures: 9, lastError: "not ours", nextAttempt: now + 1, action: "startInstance"),
        ]
        let status = StatusBuilder.pool(pool, generation: 1, previous: nil, instances: [starting], now: now, backoffs: backoffs)
        let progressing = status.conditions.first { $0.type == "Progressing" }
        #expect(progressing?.status == "False" && progressing?.reason == "ActionsFailing")
        #expect(progressing?.message == "1 action(s) failing; startInstance instance/inst00000001 attempt 2 failed: railway: 503; next attempt at \(ISO8601.format(now + 4))")
        let quiet = StatusBuilder.pool(pool, generation: 1, previous: nil, instances: [starting], now: now)
        #expect(quiet.conditions.first { $0.type == "Progressing" }?.reason == "Creating")
    }
}
