import Foundation
import Testing
import Services
import Postgres
import Providers
import Resources
import Simulator
import AppTestSupport
import TestSupport

/// The services layer against the simulated cloud and real Postgres, without a reconciler.
@Suite struct ServicesTests {
    static let image = "ghcr.io/xmtplabs/convos-runtime@sha256:" + String(repeating: "a", count: 64)

    func services(_ t: TestController) -> InProcessServices { t.controller.services as! InProcessServices }
    func sim(_ t: TestController) -> Simulator { t.controller.simulator! }

    /// Provisions each tool, asking again while one is pending (Telnyx orders complete later).
    func provisionAll(_ s: InProcessServices, _ id: String, tools: [ToolName] = ToolName.declarable) async throws {
        for tool in tools {
            var result = try await s.provision(id, tool: tool, ProvisionRequest())
            for _ in 0..<50 where result.state == .pending {
                await Task.yield()
                result = try await s.provision(id, tool: tool, ProvisionRequest())
            }
            #expect(result.state == .ready, "\(tool) is \(result.state)")
        }
    }

    func healthy(_ s: InProcessServices, _ id: String) async throws {
        try await eventually("\(id) healthy") { try await s.observe([id]).statuses[id]?.state == .healthy }
    }

    func deployments(_ t: TestController, _ id: String) async -> Int? {
        await sim(t).deployments().first { $0.project == "convos-agent-\(id)" }?.deployments
    }

    /// The status batch is a read: however often it is asked, the services schema is as it was; what
    /// it saw change (the deploy now a success) comes back in `observed`, recorded apart.
    @Test func statusBatchWritesNothingAndWhatItSawIsRecordedApart() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("pure000001", image: Self.image)
        func digest() async throws -> String {
            try await t.controller.db.query("""
                SELECT md5(coalesce((SELECT string_agg(i::text, ',' ORDER BY instance_id) FROM services.instances i), '')
                    || coalesce((SELECT string_agg(r::text, ',' ORDER BY instance_id, tool) FROM services.tool_resources r), '')
                    || coalesce((SELECT string_agg(e::text, ',' ORDER BY instance_id, name) FROM services.runtime_env e), '')) AS d
                """).first!.decode("d")
        }
        let before = try await digest()
        var seen: [String: DeployStatus] = [:]
        try await eventually("pure000001 healthy") {
            let batch = try await s.statusBatch(["pure000001"])
            seen.merge(batch.observed ?? [:]) { _, new in new }
            return batch.statuses["pure000001"]?.state == .healthy
        }
        #expect(try await digest() == before, "the batches wrote nothing")
        #expect(seen["pure000001"] == .success, "the deploy's success was seen: \(seen)")
        try await s.recordObserved(seen)
        let stored: DeployStatus? = try await t.controller.db.query("SELECT deploy_status FROM services.instances WHERE instance_id = 'pure000001'")
            .first?.decode("deploy_status")
        #expect(stored == .success)
        // The same word again (a resync observing a steady fleet) writes no row, so no tick is told
        // the instance changed; nor does the tick's own health record (migration v0018).
        func dirty() async throws -> Int { try await t.count("SELECT count(*)::int AS n FROM pool.dirty WHERE key = 'pure000001'") }
        _ = try await t.apply(Specs.pool)
        _ = try await t.controller.db.query("""
            INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at) VALUES ('pure000001', 'default', 'idle', 'sha256:0', 'http://x', now())
            """)
        let marked = try await dirty()
        try await s.recordObserved(seen)
        _ = try await t.controller.db.query("""
            INSERT INTO pool.instance_health (instance_id, health, runtime_version, runtime_type) VALUES ('pure000001', 'healthy', NULL, NULL)
            ON CONFLICT (instance_id) DO UPDATE SET health = excluded.health
            """)
        #expect(try await dirty() == marked, "an unchanged status and a health record mark nothing")
        try await s.recordObserved(["pure000001": .crashed])
        #expect(try await dirty() == marked + 1, "a status that differs is written, and marked")
        await t.stop()
    }

    /// A second project of an instance's name (a deposed leader's create answered late) is named by
    /// the next resync, and removed, the recorded one kept.
    @Test func aSecondProjectOfANameIsFoundByTheResyncAndRemoved() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("stray00001", image: Self.image)
        let railway = t.controller.providers.railway
        let recorded: String = try #require(try await t.controller.db.query(
            "SELECT railway_project_id FROM services.instances WHERE instance_id = 'stray00001'").first?.decode("railway_project_id"))
        let stray = try await railway.createProject(name: "convos-agent-stray00001", environmentName: "production")
        try await eventually("a resync names the instance") { try await s.observe(["stray00001"]).strays == ["stray00001"] }
        try await s.removeStrays("stray00001")
        let left = try await railway.projects().filter { $0.name == "convos-agent-stray00001" }.map(\.id)
        #expect(left == [recorded], "the recorded project stays, \(stray.id) goes")

        // A second OpenRouter key of the name: the audit after a resync removes it.
        let openRouter = t.controller.providers.openRouter
        let key: String = try #require(try await t.controller.db.query(
            "SELECT external_id FROM services.tool_resources WHERE instance_id = 'stray00001' AND tool = 'openrouter'").first?.decode("external_id"))
        _ = try await openRouter.create(name: "convos-agent-stray00001", options: ToolOptions(limitUsd: 1))
        await s.runAudit()
        #expect(try await openRouter.keys().filter { $0.name == "convos-agent-stray00001" }.map(\.hash) == [key])
        await t.stop()
    }

    /// A second service in an instance's project (a deposed leader's `serviceCreate`, sent before
    /// it froze and answered after the next leader made the instance's own) is named by the next
    /// resync and deleted; the recorded service, deployed, stays and stays the one observed.
    @Test func aSecondServiceInTheProjectIsFoundByTheResyncAndRemoved() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("stray00002", image: Self.image)
        let railway = t.controller.providers.railway
        let row = try #require(try await t.controller.db.query(
            "SELECT railway_project_id, railway_environment_id, railway_service_id FROM services.instances WHERE instance_id = 'stray00002'").first)
        let (projectID, environmentID, recorded): (String, String, String) = (try row.decode("railway_project_id"),
                                                                              try row.decode("railway_environment_id"), try row.decode("railway_service_id"))
        let stray = try await railway.createService(projectID: projectID, environmentID: environmentID, name: "convos-agent-stray00002",
                                                    registryCredentials: nil)
        let both = try #require(try await railway.project(id: projectID))
        #expect(Set(both.serviceIDs) == [recorded, stray])
        #expect(both.serviceID == recorded, "the deployed service is the instance's, whichever is listed first")
        try await eventually("a resync names the instance") { try await s.observe(["stray00002"]).strays == ["stray00002"] }
        try await s.removeStrays("stray00002")
        #expect(try await railway.project(id: projectID)?.serviceIDs == [recorded], "the recorded service stays, \(stray) goes")
        try await eventually("the next resync names nothing") {
            let batch = try await s.observe(["stray00002"])
            return batch.resynced == true && batch.strays == []
        }
        await t.stop()
    }

    /// Production's sequence: project, volume, domain, then one commit: exactly one deployment,
    /// carrying every variable of CONTRACT section 6, the start command and the registry credentials.
    @Test func createMakesExactlyOneDeploymentAfterVolumeAndDomain() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler) { c in
            c.services.startCommand = "node convos-platform/pool-server/dist/index.js"
            c.services.registryCredentials = RegistryCredentials(username: "xmtplabs", password: "ghp_secret")
        }
        let created = try await services(t).createInstance("inst000001", image: Self.image)
        #expect(created.url?.hasPrefix("http://127.0.0.1:") == true)
        let kinds = await sim(t).events().filter { $0.name == "convos-agent-inst000001" && $0.provider == "railway" }.map(\.kind)
        #expect(kinds == ["project", "volume", "domain", "deployment"])
        #expect(await deployments(t, "inst000001") == 1)
        let record = try await t.runtimeRecord("inst000001")
        let variables = Set(record["variables"] as? [String] ?? [])
        #expect(variables.isSuperset(of: ["INSTANCE_ID", "GATEWAY_TOKEN", "POOL_URL", "RUNTIME_TYPE", "POOL_API_KEY", "INSTANCE_SERVICES_TOKEN",
                                          "SETUP_PASSWORD", "PRIVATE_WALLET_KEY", "OPENROUTER_API_KEY", "XMTP_ENV", "PORT"]))
        #expect(!variables.contains("OPENCLAW_GATEWAY_TOKEN"), "production stopped sending it on 2026-04-02")
        #expect(record["image"] as? String == Self.image && record["startCommand"] as? String == "node convos-platform/pool-server/dist/index.js")
        // The key and the wallet come with the instance: an idle instance carries them.
        #expect(await sim(t).ledger().filter { $0.provider == "openrouter" }.map(\.name) == ["convos-agent-inst000001"])
        let row = try await t.controller.db.query("SELECT wallet_key, runtime_key FROM services.instances WHERE instance_id = 'inst000001'").first!
        let wallet: String = try row.decode("wallet_key")
        #expect(wallet.hasPrefix("0x") && wallet.count == 66)
        #expect(try row.decode("runtime_key", as: String.self).count > 32)
        let key = try await t.controller.db.query("SELECT config FROM services.tool_resources WHERE instance_id = 'inst000001' AND tool = 'openrouter'").first!
        #expect(try InProcessServices.config(key) == ["limitUsd": "20", "limitReset": "monthly"])
        // A repeat is the same instance, no second anything.
        _ = try await services(t).createInstance("inst000001", image: Self.image)
        #expect(await deployments(t, "inst000001") == 1)
        await t.stop()
    }

    @Test func teardownDeletesInTheSeedsOrderAndLeavesNothing() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler) { $0.services.telnyxRelease = .delete }
        let s = services(t)
        _ = try await s.createInstance("inst000002", image: Self.image)
        try await provisionAll(s, "inst000002")
        let live = await sim(t).ledger()
        #expect(Set(live.map(\.provider)) == ["railway", "openrouter", "agentmail", "telnyx"])
        try await s.destroy("inst000002")
        #expect(await sim(t).ledger().isEmpty)
        let deletes = await sim(t).events().filter { $0.action == "delete" && $0.name == "convos-agent-inst000002" }.map(\.provider)
        #expect(deletes == ["openrouter", "agentmail", "telnyx", "railway"])
        // Bankr's key is retired, never handed out again; the runtime's variables are gone.
        let key = try await t.controller.db.query("SELECT state FROM services.bankr_keys WHERE instance_id = 'inst000002'").first
        #expect(try key?.decode("state", as: String.self) == "retired")
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.runtime_env WHERE instance_id = 'inst000002'") == 0)
        try await s.destroy("inst000002")
        await t.stop()
    }

    /// Pool tools reach the running agent without a deploy or a restart: no variable of theirs (the
    /// runtime uses them through the services proxy); once configured it is told its inbox and number.
    @Test func provisioningDeploysNothingAndHandsVariablesToTheRunningAgent() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("inst000003", image: Self.image)
        try await healthy(s, "inst000003")
        try await provisionAll(s, "inst000003")
        try await provisionAll(s, "inst000003")
        // Not configured yet: nothing is handed over (a restart must not cut into /pool/provision).
        #expect((try await t.runtimeRecord("inst000003")["restarts"] as? [[String]])?.isEmpty == true)
        _ = try await s.configure("inst000003", ConfigureRequest(agentName: "Ada", instructions: "Be brief."))
        try await eventually("every tool delivered") {
            let tools = try await s.observe(["inst000003"]).statuses["inst000003"]?.tools ?? [:]
            return ToolName.declarable.allSatisfy { tools[$0.rawValue]?.delivered == true }
        }
        #expect(await deployments(t, "inst000003") == 1, "no redeploy for any tool")
        let record = try await t.runtimeRecord("inst000003")
        let tools: Set<String> = ["AGENTMAIL_INBOX_ID", "AGENTMAIL_API_KEY", "TELNYX_PHONE_NUMBER", "TELNYX_API_KEY", "BANKR_API_KEY"]
        #expect(Set(record["env"] as? [String] ?? []).isDisjoint(with: tools) && Set(record["variables"] as? [String] ?? []).isDisjoint(with: tools))
        #expect((record["restarts"] as? [[String]] ?? []).isEmpty, "no restart for any pool tool")
        let told = (record["metadata"] as? [[String: Any]] ?? []).compactMap { $0["metadata"] as? [String: String] }
        #expect(Set(told.flatMap(\.keys)) == ["email", "phone"], "told its inbox and number once configured: \(told)")
        let counts = Dictionary(grouping: await sim(t).ledger(), by: \.provider).mapValues(\.count)
        #expect(counts == ["railway": 2, "openrouter": 1, "agentmail": 1, "telnyx": 1], "a project and its volume; one of each tool")
        await t.stop()
    }

    @Test func lostResponseOnKeyCreateEndsWithOneKeyTheAgentHolds() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        var faults = Faults()
        faults.lostResponseNext = 1
        faults.providers = ["openrouter"]
        sim(t).setFaults(faults)
        // The key is made but the answer is lost: the secret never reached us, and nothing deployed.
        await #expect(throws: ServicesError.self) { _ = try await s.createInstance("inst000004", image: Self.image) }
        #expect(await sim(t).ledger().filter { $0.provider == "openrouter" }.count == 1)
        #expect(await deployments(t, "inst000004") == 0)
        // The next attempt finds the key by name, deletes it (its secret is gone), makes one it holds, deploys once.
        _ = try await s.createInstance("inst000004", image: Self.image)
        #expect(await sim(t).ledger().filter { $0.provider == "openrouter" }.count == 1)
        #expect(await deployments(t, "inst000004") == 1)
        #expect((try await t.runtimeRecord("inst000004")["variables"] as? [String])?.contains("OPENROUTER_API_KEY") == true)
        await t.stop()
    }

    @Test func crashAfterRailwayCreatedBeforeWeRecordedIsAdopted() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        // As if a previous process started the create, Railway made the project, and the process died.
        _ = try await t.controller.db.query("""
            INSERT INTO services.instances (instance_id, image, project_create_started_at) VALUES ('inst000005', $1, now())
            """, [Self.image])
        _ = try await t.controller.providers.railway.createProject(name: "convos-agent-inst000005", environmentName: "production")
        _ = try await services(t).createInstance("inst000005", image: Self.image)
        #expect(await sim(t).ledger().filter { $0.provider == "railway" && $0.kind == "project" }.count == 1)
        #expect(await deployments(t, "inst000005") == 1)
        #expect(try await services(t).observe(["inst000005"]).orphans == [])
        await t.stop()
    }

    @Test func crashAfterTheCommitDoesNotDeployTwice() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        _ = try await services(t).createInstance("inst000006", image: Self.image)
        // As if the process died after environmentPatchCommit, before writing it down.
        _ = try await t.controller.db.query("UPDATE services.instances SET state = 'creating', deployed_at = NULL WHERE instance_id = 'inst000006'")
        _ = try await services(t).createInstance("inst000006", image: Self.image)
        #expect(await deployments(t, "inst000006") == 1)
        #expect(await sim(t).events().filter { $0.name == "convos-agent-inst000006" && $0.action == "create" }.map(\.kind)
                == ["project", "volume", "domain", "key", "deployment"])
        await t.stop()
    }

    /// The seed's four states for the whole fleet; Railway is listed once per resync, polled only
    /// for instances in transition, and an instance an event names is looked at again.
    @Test func statusBatchHasTheFourStatesAndCallsRailwayOnlyForTransitions() async throws {
        var cloud = TestController.fastCloud
        cloud.healthDelay = .seconds(3600)
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler, cloud: cloud) {
            $0.resyncInterval = .seconds(3600)
        }
        let s = services(t)
        let railway = t.controller.providers.railway
        let ids = (0..<3).map { "batch00\($0)x" }
        for id in ids { _ = try await s.createInstance(id, image: Self.image) }
        try await eventually("deployed") { try await s.observe(ids).statuses.values.allSatisfy { $0.deployStatus == .success } }
        let before = railway.stats.total
        let batch = try await s.observe(ids + ["absent000"])
        #expect(railway.stats.total == before, "settled instances cost no Railway call between resyncs")
        #expect(batch.statuses.count == 4)
        #expect(batch.statuses["absent000"]?.setup == .missing && batch.statuses["absent000"]?.state == .deploying)
        #expect(batch.statuses["batch000x"]?.state == .unreachable, "deployed, but /pool/health is not ready")
        cloud.healthDelay = .zero
        await sim(t).setOptions(cloud)
        #expect(try await s.observe(["batch000x"]).statuses["batch000x"]?.state == .healthy)

        // Deleted behind our back: unseen until an event names it (or the resync comes).
        let project = try #require(try await railway.project(named: "convos-agent-batch001x"))
        try await railway.deleteProject(id: project.id)
        #expect(try await s.observe(ids).statuses["batch001x"]?.deployStatus == .success)
        let serviceID: String = try #require(try await t.controller.db.query(
            "SELECT railway_service_id FROM services.instances WHERE instance_id = 'batch001x'").first?.decode("railway_service_id"))
        #expect(try await s.railwayEvent(serviceID: serviceID))
        let polled = railway.stats.total
        let gone = try await s.observe(ids).statuses["batch001x"]
        #expect(gone?.state == .deployFailed && gone?.deployStatus == .missing)
        #expect(railway.stats.total == polled + 1, "one project looked at, by id")
        await t.stop()
    }

    @Test func bankrPoolEmptyIsSaid() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        _ = try await t.controller.db.query("UPDATE services.bankr_keys SET state = 'retired'")
        _ = try await services(t).createInstance("inst000007", image: Self.image)
        do {
            _ = try await services(t).provision("inst000007", tool: .crypto, ProvisionRequest())
            Issue.record("provisioned from an empty pool")
        } catch let error as ServicesError {
            #expect(error.code == .bankrPoolEmpty)
        }
        await t.stop()
    }

    /// A `provisioning: user` tool takes the user's credentials: stored under the agent by the claim,
    /// or given directly; a missing key is a 400 naming it.
    @Test func userProvidedCredentialsReachTheRuntime() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let s = services(t)
        _ = try await s.createInstance("inst000008", image: Self.image)
        try await healthy(s, "inst000008")
        _ = try await s.configure("inst000008", ConfigureRequest(agentName: "Ada", instructions: "Be brief."))
        try await s.storeUserConfig(agent: "agent-x", ["bankrApiKey": "bk_users_own"])
        #expect(try await s.provision("inst000008", tool: .crypto, ProvisionRequest(agent: "agent-x", provisioning: .user)).resourceId == "user")
        do {
            _ = try await s.provision("inst000008", tool: .sms, ProvisionRequest(userConfig: ["telnyxApiKey": "k"]))
            Issue.record("accepted a userConfig without the phone number")
        } catch let error as ServicesError {
            #expect(error.code == .userConfigMissing && error.message.contains("userConfig.telnyxPhoneNumber"))
        }
        try await eventually("delivered") { (try await t.runtimeRecord("inst000008")["env"] as? [String])?.contains("BANKR_API_KEY") == true }
        #expect(await sim(t).ledger().filter { $0.provider == "telnyx" }.isEmpty, "nothing bought for a user's tool")
        let keys = try await t.count("SELECT count(*)::int AS n FROM services.bankr_keys WHERE instance_id = 'inst000008'")
        #expect(keys == 0, "no pool key handed out")
        await t.stop()
    }

    /// A provider without credentials is disabled, not fatal: instances are made without an
    /// OpenRouter key, and an agent whose template sets its limit is told why.
    @Test func openRouterNotConfiguredStillMakesInstances() async throws {
        let t = try await TestController.start(simulate: true, reconciler: TestController.noReconciler)
        let p = t.controller.providers
        let without = ProviderSet(railway: p.railway, ghcr: p.ghcr, openRouter: OpenRouterProvider(base: URL(string: sim(t).openRouterURL)!, provisioningKey: nil),
                                  telnyx: p.telnyx, agentMail: p.agentMail, bankr: p.bankr, runtime: p.runtime, bankrKeys: [], instanceURLScheme: "http")
        let s = InProcessServices(db: t.controller.db, providers: without)
        _ = try await s.createInstance("inst000009", image: Self.image)
        #expect(await deployments(t, "inst000009") == 1)
        #expect((try await t.runtimeRecord("inst000009")["variables"] as? [String])?.contains("OPENROUTER_API_KEY") == false)
        await #expect { try await s.provision("inst000009", tool: .openrouter, ProvisionRequest(options: ToolOptions(limitUsd: 5))) } throws: { error in
            (error as? ServicesError)?.code == .providerNotConfigured
        }
        await t.stop()
    }

    func serviceID(_ t: TestController, _ id: String) async throws -> String {
        try await t.controller.db.query("SELECT railway_service_id FROM services.instances WHERE instance_id = $1", [id]).first!.decode("railway_service_id")
    }
}
