import Foundation
import Testing
import Services
import Providers
import Simulator
import AppTestSupport
import TestSupport

/// `TELNYX_SPARE_NUMBERS`: numbers ordered ahead into the reuse pool, so a claim's SMS is taken
/// from it instead of ordered while the agent waits; the stock refills, and an order whose answer
/// was never recorded is found again rather than bought twice or forgotten.
@Suite struct NumberStockTests {
    func services(_ t: TestController) -> InProcessServices { t.controller.services as! InProcessServices }

    func count(_ t: TestController, _ state: String) async throws -> Int {
        try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state = '\(state)'")
    }

    /// Three numbers stocked before any claim; the claim's agent gets one of them (no order on its
    /// path), and the stock is ordered back to three: four numbers bought in all.
    @Test func aClaimTakesAStockedNumberAndTheStockRefills() async throws {
        let t = try await TestController.start(simulate: true) { $0.services.spareNumbers = 3 }
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("three numbers stocked") { try await count(t, "available") == 3 }
        let stocked = Set(try await t.controller.db.query("SELECT phone_number FROM services.phone_numbers WHERE state = 'available'")
            .rows.map { try $0.decode("phone_number", as: String.self) })
        try await eventually("1 idle") { try await t.idle() == 1 }

        let agent = try #require(try await t.claim("concierge", owner: "u1").json()["agent"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        let phone: String = try await t.controller.db.query("""
            SELECT t.external_id FROM services.tool_resources t JOIN pool.instances i USING (instance_id) WHERE i.agent = $1 AND t.tool = 'sms'
            """, [agent]).first!.decode("external_id")
        #expect(stocked.contains(phone), "the agent's number came from the stock")
        try await eventually("the stock is back to three") { try await count(t, "available") == 3 }
        let orders = await t.controller.simulator!.events().filter { $0.kind == "number_order" }.count
        #expect(orders == 4, "three stocked, one refill, none ordered on the claim's path: \(orders)")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers") == 4)
        await t.stop()
    }

    /// A stock row written before its order (a crash before the order's answer was recorded) is
    /// matched to its order by the stock's reference; one whose order never came is dropped once
    /// stale. Nothing is ordered twice.
    @Test func anUnrecordedStockOrderIsAdoptedAndAnUnplacedOneDropped() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler) { $0.services.spareNumbers = 1 }
        let s = services(t)
        let telnyx = t.controller.providers.telnyx
        let found = try await telnyx.search(country: "US", endsWith: nil)
        let ordered = try #require(found.first), unplaced = try #require(found.last)
        _ = try await telnyx.order(ordered, reference: InProcessServices.stockReference)
        _ = try await t.controller.db.query("INSERT INTO services.phone_numbers (state, phone_number) VALUES ('stocking', $1)", [ordered])
        _ = try await t.controller.db.query("""
            INSERT INTO services.phone_numbers (state, phone_number, created_at) VALUES ('stocking', $1, now() - interval '5 minutes')
            """, [unplaced])
        let deadline = ContinuousClock.now + .seconds(20)
        while try await s.stockNumbers(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await t.controller.db.query("SELECT state FROM services.phone_numbers WHERE phone_number = $1", [ordered])
            .first?.decode("state", as: String.self) == "available")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers") == 1, "the unplaced row is gone, nothing more ordered")
        #expect(await t.controller.simulator!.events().filter { $0.kind == "number_order" }.count == 1)
        await t.stop()
    }

    /// Zero spare numbers (the default): the status batch asks for nothing and nothing is ordered.
    @Test func noSpareNumbersOrdersNone() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        #expect(try await s.statusBatch([]).numberStock == nil)
        #expect(try await s.stockNumbers() == false)
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers") == 0)
        await t.stop()
    }
}
