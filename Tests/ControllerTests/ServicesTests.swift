import Foundation
import Testing
@testable import Controller
import Providers
import Resources
import Simulator
import TestSupport

@Suite struct ServicesTests {
    static let image = "ghcr.io/xmtplabs/convos-agent-runtime@sha256:" + String(repeating: "a", count: 64)

    func services(_ t: TestController) -> InProcessServices { t.controller.services as! InProcessServices }
    func sim(_ t: TestController) -> Simulator { t.controller.simulator! }

    /// Provisions every tool, asking again while one is pending (Telnyx orders complete later).
    func provisionAll(_ s: InProcessServices, _ id: String) async throws {
        for tool in ToolName.allCases {
            var status = try await s.provision(id, tool: tool, options: ToolOptions(creditLimitUsd: 5))
            for _ in 0..<50 where status.state == .pending {
                await Task.yield()
                status = try await s.provision(id, tool: tool, options: ToolOptions(creditLimitUsd: 5))
            }
            #expect(status.state == .ready, "\(tool) is \(status.state)")
        }
    }

    @Test func teardownDeletesInTheSeedsOrderAndLeavesNothing() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("inst000001", image: Self.image)
        try await provisionAll(s, "inst000001")
        let live = await sim(t).ledger()
        #expect(Set(live.map(\.provider)) == ["railway", "openrouter", "agentmail", "telnyx"])
        try await s.teardown("inst000001")
        #expect(await sim(t).ledger().isEmpty)
        let deletes = await sim(t).events().filter { $0.action == "delete" && $0.name == "convos-agent-inst000001" }.map(\.provider)
        #expect(deletes == ["openrouter", "agentmail", "telnyx", "railway"])
        // Bankr's key is retired, never handed out again.
        let key = try await t.controller.db.query("SELECT state FROM services.bankr_keys WHERE instance_id = 'inst000001'").first
        #expect(try key?.decode("state", as: String.self) == "retired")
        try await s.teardown("inst000001")
        await t.stop()
    }

    @Test func createAndProvisionTwiceAreOneResourceEach() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        let a = try await s.createInstance("inst000002", image: Self.image)
        let b = try await s.createInstance("inst000002", image: Self.image)
        #expect(a.url == b.url && a.url?.hasPrefix("http://127.0.0.1:") == true)
        try await provisionAll(s, "inst000002")
        try await provisionAll(s, "inst000002")
        let counts = Dictionary(grouping: await sim(t).ledger(), by: \.provider).mapValues(\.count)
        #expect(counts == ["railway": 1, "openrouter": 1, "agentmail": 1, "telnyx": 1])
        #expect(try await t.controller.db.query("SELECT count(*)::int AS n FROM services.bankr_keys WHERE instance_id = 'inst000002'")
            .first!.decode("n", as: Int.self) == 1)
        await t.stop()
    }

    @Test func lostResponseOnKeyCreateEndsWithOneKeyTheAgentHolds() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("inst000003", image: Self.image)
        var faults = Faults()
        faults.lostResponseNext = 1
        faults.providers = ["openrouter"]
        sim(t).setFaults(faults)
        // The key is made but the answer is lost: the secret never reached us.
        await #expect(throws: ServicesError.self) { _ = try await s.provision("inst000003", tool: .openrouter, options: ToolOptions()) }
        #expect(await sim(t).ledger().filter { $0.provider == "openrouter" }.count == 1)
        // The next attempt finds the key by name, deletes it (its secret is gone), and makes one it holds.
        #expect(try await s.provision("inst000003", tool: .openrouter, options: ToolOptions()).state == .ready)
        let keys = await sim(t).ledger().filter { $0.provider == "openrouter" }
        #expect(keys.count == 1)
        let runtime = try await TestHTTPClient(base: sim(t).baseURL).get("/_sim/runtime/" + (try await serviceID(t, "inst000003")))
        #expect(((try runtime.json())["variables"] as? [String])?.contains("OPENROUTER_API_KEY") == true)
        await t.stop()
    }

    @Test func crashAfterRailwayCreatedBeforeWeRecordedIsAdopted() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        // As if a previous process created the project and died before writing anything down.
        _ = try await t.controller.providers.railway.ensure(name: "convos-agent-inst000004", image: Self.image, variables: [:])
        let batch = try await services(t).statusBatch([])
        #expect(batch.orphans == ["convos-agent-inst000004"])
        _ = try await services(t).createInstance("inst000004", image: Self.image)
        #expect(await sim(t).ledger().filter { $0.provider == "railway" }.count == 1)
        #expect(try await services(t).statusBatch(["inst000004"]).orphans == [])
        await t.stop()
    }

    @Test func statusBatchIsOneCallForAll() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        for i in 0..<5 { _ = try await s.createInstance("batch00\(i)x", image: Self.image) }
        let before = t.controller.providers.railway.stats.count(outcome: "ok")
        let batch = try await s.statusBatch((0..<5).map { "batch00\($0)x" } + ["absent000"])
        #expect(t.controller.providers.railway.stats.count(outcome: "ok") == before + 1)
        #expect(batch.statuses.count == 6)
        #expect(batch.statuses["absent000"]?.state == "missing")
        #expect(batch.statuses["batch000x"]?.state == "ready")
        await t.stop()
    }

    @Test func bankrPoolEmptyIsSaid() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        _ = try await t.controller.db.query("UPDATE services.bankr_keys SET state = 'retired'")
        _ = try await services(t).createInstance("inst000005", image: Self.image)
        do {
            _ = try await services(t).provision("inst000005", tool: .bankr, options: ToolOptions())
            Issue.record("provisioned from an empty pool")
        } catch let error as ServicesError {
            #expect(error.code == "BankrPoolEmpty")
        }
        await t.stop()
    }

    @Test func servicesAPIOverHTTPAndTheRemoteClient() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let bad = try await t.client.send("POST", "/create-instance", body: Data("{}".utf8), headers: ["Content-Type": "application/json"])
        #expect(bad.status == 400)
        #expect(try await t.client.send("POST", "/provision/inst000006/fax").status == 404)
        // Found by schemathesis: options that are not a JSON object were a 500.
        let options = try await t.client.send("POST", "/provision/inst000006/agentmail", body: Data("[1]".utf8),
                                              headers: ["Content-Type": "application/json"])
        #expect(options.status == 400)
        #expect(options.text.contains("tool options"))
        let remote = RemoteServices(base: URL(string: t.url)!, token: nil)
        let created = try await remote.createInstance("inst000006", image: Self.image)
        #expect(created.state == "ready")
        #expect(try await remote.provision("inst000006", tool: .agentmail, options: ToolOptions()).state == .ready)
        #expect(try await remote.statusBatch(["inst000006"]).statuses["inst000006"]?.tools["agentmail"]?.state == .ready)
        try await remote.teardown("inst000006")
        #expect(await sim(t).ledger().isEmpty)
        await t.stop()
    }

    func serviceID(_ t: TestController, _ id: String) async throws -> String {
        try await t.controller.db.query("SELECT railway_service_id FROM services.instances WHERE instance_id = $1", [id]).first!.decode("railway_service_id")
    }
}
