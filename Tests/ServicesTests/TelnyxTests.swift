import Foundation
import Testing
import Services
import Postgres
import Providers
import Resources
import Simulator
import AppTestSupport
import TestSupport

/// Phone numbers as Telnyx behaves: everyone searching at once sees the same numbers, orders
/// collide, numbers need a messaging profile, `customer_reference` is not copied onto numbers,
/// and numbers cost money, so they are reused.
@Suite struct TelnyxTests {
    static let image = Specs.digestImage

    func services(_ t: TestController) -> InProcessServices { t.controller.services as! InProcessServices }

    /// Provisions `sms`, asking again while the order completes; the number it got.
    func number(_ s: InProcessServices, _ id: String) async throws -> String {
        var result = try await s.provision(id, tool: .sms, ProvisionRequest())
        let deadline = ContinuousClock.now + .seconds(20)
        while result.state == .pending, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            result = try await s.provision(id, tool: .sms, ProvisionRequest())
        }
        #expect(result.state == .ready)
        return try await s.db.query("SELECT external_id FROM services.tool_resources WHERE instance_id = $1 AND tool = 'sms'", [id])
            .first!.decode("external_id")
    }

    /// A number released at Telnyx by someone else: teardown waits for it a while (a new number
    /// takes seconds to be listed), then takes it as gone, so the instance's teardown, and its
    /// Railway project's deletion, is not held forever.
    @Test func aNumberReleasedElsewhereDoesNotHoldTheTeardownForever() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("gonenum1", image: Self.image)
        let phone = try await number(s, "gonenum1")
        let telnyx = t.controller.providers.telnyx
        let numberID = try #require(try await telnyx.number(phone)?.id)
        try await telnyx.release(numberID: numberID)

        await #expect(throws: ServicesError.self, "just ordered: not listed yet, so retried") { try await s.destroy("gonenum1") }
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers") == 1)
        _ = try await t.controller.db.query("UPDATE services.phone_numbers SET updated_at = now() - interval '11 minutes'")
        try await s.destroy("gonenum1")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state <> 'released'") == 0)
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.instances WHERE state = 'deleted'") == 1, "the instance's teardown finished")
        #expect(await t.controller.simulator!.ledger().isEmpty, "nothing left in the cloud")
        await t.stop()
    }

    /// A number ordered under an instance's name after its teardown (a frozen leader's order that
    /// landed late) is found by the next audit and given back: nothing is left at Telnyx.
    @Test func aNumberOrderedAfterTheTeardownIsGivenBackByTheAudit() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler) { $0.services.telnyxRelease = .delete }
        let s = services(t)
        _ = try await s.createInstance("latenum1", image: Self.image)
        _ = try await number(s, "latenum1")
        try await s.destroy("latenum1")
        #expect(try await owned(t).isEmpty)
        let telnyx = t.controller.providers.telnyx
        let late = try #require(try await telnyx.search(country: "US", endsWith: nil).first)
        _ = try await telnyx.order(late, reference: "convos-agent-latenum1")
        try await eventually("the late order's number exists") { try await owned(t).count == 1 }
        await s.runAudit()
        #expect(try await owned(t).isEmpty, "the late number was released")
        await t.stop()
    }

    /// Owned numbers as Telnyx lists them.
    func owned(_ t: TestController) async throws -> [[String: Any]] {
        let body = try await TestHTTPClient(base: t.controller.simulator!.baseURL)
            .send("GET", "/telnyx/v2/phone_numbers?page[size]=250", headers: ["Authorization": "Bearer k"]).json()
        return (body["data"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "active" }
    }

    @Test func twentyConcurrentProvisionsGetTwentyDistinctNumbersEachOnAProfile() async throws {
        // Telnyx answers in 50 ms, so the twenty searches overlap and see the same twenty numbers.
        var cloud = TestController.fastCloud
        cloud.latency = ["telnyx": .milliseconds(50)]
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler, cloud: cloud)
        let s = services(t)
        // Four replicas of the services layer on one database: each hands out numbers from its own
        // searches, so only orders from different replicas can collide.
        let replicas = (0..<4).map { _ in InProcessServices(db: s.db.pool, providers: s.providers, settings: s.settings) }
        let ids = (0..<20).map { String(format: "tel%06d", $0) }
        for id in ids { _ = try await s.createInstance(id, image: Self.image) }
        let numbers = try await withThrowingTaskGroup(of: String.self) { group in
            for (i, id) in ids.enumerated() { group.addTask { try await self.number(replicas[i % 4], id) } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(numbers.count == 20 && Set(numbers).count == 20, "20 distinct numbers: \(numbers.sorted())")
        let live = try await owned(t)
        #expect(live.count == 20, "nothing bought twice")
        let profiles = Set(live.compactMap { $0["messaging_profile_id"] as? String })
        #expect(profiles.count == 1 && live.allSatisfy { $0["messaging_profile_id"] is String }, "every number can send SMS")
        // Searches ask for a random last digit, so replicas mostly search different numbers; those
        // that collide anyway (Telnyx's 422, a conflict to the caller) search again, which the
        // distinct numbers above prove.
        let orders = t.controller.providers.telnyx.stats.calls.filter { $0.key.hasPrefix("number_orders.create|") }.values.reduce(0) { $0 + $1.count }
        #expect(orders >= 20 && orders < 60, "\(orders) orders for 20 numbers")
        let kept: String? = try await s.db.query("SELECT value FROM services.settings WHERE name = 'telnyx_messaging_profile_id'").first?.decode("value")
        #expect(kept == profiles.first, "one profile, found or made once")
        await t.stop()
    }

    @Test func concurrentOrdersOnOneProcessShareOneSearchAndNeverTheSameNumber() async throws {
        let searches = Counter()
        let candidates = NumberCandidates()
        let search: @Sendable () async throws -> [String] = {
            await searches.add()
            try await Task.sleep(for: .milliseconds(50))
            return (0..<20).map { String(format: "+1555000%04d", $0) }
        }
        let taken = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { try await candidates.take(country: "US", search: search) } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(Set(taken.compactMap { $0 }).count == 20, "twenty distinct numbers: \(taken)")
        #expect(await searches.value == 1, "one search for twenty orders")
        // The list is used up: the next order searches again; a collision drops the list.
        _ = try await candidates.take(country: "US", search: search)
        #expect(await searches.value == 2)
        await candidates.stale(country: "US")
        _ = try await candidates.take(country: "US", search: search)
        #expect(await searches.value == 3)
    }

    @Test func aNumberGivenBackIsReusedByTheNextAgent() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("reusea01", image: Self.image)
        let first = try await number(s, "reusea01")
        try await s.destroy("reusea01")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state = 'available'") == 1)
        _ = try await s.createInstance("reuseb02", image: Self.image)
        #expect(try await number(s, "reuseb02") == first, "the pool's number, not a new purchase")
        let sim = t.controller.simulator!
        #expect(await sim.events().filter { $0.kind == "number_order" }.count == 1)
        #expect(await sim.ledger().filter { $0.provider == "telnyx" }.map(\.name) == ["convos-agent-reuseb02"], "labelled with its agent")
        await t.stop()
    }

    /// The order's answer is lost (the order happened): the next attempt finds the order by its
    /// reference instead of buying again; at teardown (`delete`) the number is released by its id,
    /// although Telnyx never copied the reference onto it.
    @Test func nothingLeaksWhenTheReferenceIsNotOnTheNumber() async throws {
        var cloud = TestController.fastCloud
        cloud.telnyxCopiesReference = false
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler, cloud: cloud) {
            $0.services.telnyxRelease = .delete
        }
        let s = services(t)
        _ = try await s.createInstance("noref001", image: Self.image)
        let sim = t.controller.simulator!
        var faults = Faults()
        faults.lostResponseNext = 1
        faults.providers = ["telnyx"]
        sim.setFaults(faults)
        do {
            _ = try await s.provision("noref001", tool: .sms, ProvisionRequest())
        } catch {
            // The search answered, the order's answer was lost: retried later.
        }
        sim.setFaults(Faults())
        _ = try await number(s, "noref001")
        #expect(await sim.events().filter { $0.kind == "number_order" }.count == 1, "the lost order was adopted, not made again")
        try await s.destroy("noref001")
        #expect(try await owned(t).isEmpty)
        #expect(await sim.ledger().filter { $0.provider == "telnyx" }.isEmpty)
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state <> 'released'") == 0)
        await t.stop()
    }
}

