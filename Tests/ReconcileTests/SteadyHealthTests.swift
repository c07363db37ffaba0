import Foundation
import Testing
import AppTestSupport
import Reconcile

/// The incremental tick asks the status batch only about what changed or is in transition; a
/// steady runtime that stops answering, with nothing written and Railway still saying `SUCCESS`,
/// is found by the health sweep (`HealthSweep`) and recorded, and so is its return.
@Suite struct SteadyHealthTests {
    @Test func aSteadyRuntimeThatStopsAnsweringIsSeenAndSoIsItsReturn() async throws {
        let t = try await TestController.start(simulate: true) { $0.services.healthTTL = 1 }
        _ = try await t.apply(Specs.poolSized(1))
        let db = t.controller.db
        func health() async throws -> String? {
            try await db.query("SELECT h.health FROM pool.instances i JOIN pool.instance_health h USING (instance_id) WHERE i.state = 'idle'")
                .first?.decode("health")
        }
        try await eventually("an idle instance, healthy", timeout: .seconds(60)) { try await health() == "healthy" }
        let instance: String = try await db.query("SELECT instance_id FROM pool.instances WHERE state = 'idle'").first!.decode("instance_id")
        // Steady: several ticks pass with nothing to ask about it.
        let ticks = await t.controller.reconciler.snapshot.ticks
        try await eventually("a few quiet ticks") { await t.controller.reconciler.snapshot.ticks >= ticks + 3 }

        try await t.setRuntime(instance, ["down": true])
        try await eventually("seen unreachable") { try await health() == "unreachable" }
        #expect(try await db.query("SELECT deploy_status FROM services.instances WHERE instance_id = $1", [instance]).first!
            .decode("deploy_status", as: String.self) == "SUCCESS", "Railway said nothing: the sweep's ping found it")
        try await t.setRuntime(instance, ["down": false])
        try await eventually("healthy again") { try await health() == "healthy" }
        await t.stop()
    }
}
