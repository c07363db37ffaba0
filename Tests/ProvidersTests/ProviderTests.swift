import Foundation
import Testing
@testable import Providers
import Resources
import Simulator
import TestSupport

/// Each provider against the simulated cloud over real HTTP: create, observe, update, delete;
/// a second create is the same resource; a second delete is fine.
@Suite struct ProviderTests {
    /// The create sequence production settled on: project, empty service, volume, domain, then one
    /// patch commit: one deployment, after the volume and the domain.
    @Test func railwayCreatesInStepsWithOneDeployment() async throws {
        let cloud = try await SimulatedCloud.start()
        let railway = cloud.railway()
        let image = "ghcr.io/a/b@sha256:" + String(repeating: "c", count: 64)
        let project = try await railway.createProject(name: "convos-agent-aaa111", environmentName: "staging")
        let environment = try #require(project.environmentID)
        let service = try await railway.createService(projectID: project.id, environmentID: environment, name: "convos-agent-aaa111",
                                                      registryCredentials: RegistryCredentials(username: "xmtplabs", password: "ghp_x"))
        #expect(await cloud.sim.deployments().map(\.deployments) == [0], "a service without a source does not deploy")
        let volume = try await railway.createVolume(projectID: project.id, environmentID: environment, serviceID: service, mountPath: "/data")
        let domain = try await railway.createDomain(environmentID: environment, serviceID: service, port: 8080)
        try await railway.commit(environmentID: environment, serviceID: service,
                                 ServiceDeploySpec(image: image, startCommand: "node x.js", variables: ["A": "1"]), message: "first")
        #expect(await cloud.sim.deployments().map(\.deployments) == [1])
        let seen = try #require(try await railway.project(id: project.id))
        #expect(seen.serviceID == service && seen.volumeID == volume && seen.domain == domain && seen.deploymentStatus != nil)
        // Variables stored without a redeploy.
        try await railway.storeVariables(seen, ["B": "2"])
        #expect(await cloud.sim.deployments().map(\.deployments) == [1])
        let order = await cloud.sim.events().filter { $0.name == "convos-agent-aaa111" }.map(\.kind)
        #expect(order == ["project", "volume", "domain", "deployment"])
        try await railway.deleteProject(id: project.id)
        try await railway.deleteProject(id: project.id)
        #expect(await cloud.live("railway").isEmpty)
        #expect(try await railway.project(id: project.id) == nil)
        #expect(try await railway.project(named: "convos-agent-aaa111") == nil)
        await cloud.sim.shutdown()
    }

    /// A service of its own in the simulated cloud, deployed with `image`, `variables` and `startCommand`.
    private func runtimeService(_ cloud: SimulatedCloud, name: String, image: String, variables: [String: String],
                                startCommand: String?) async throws -> (service: String, url: URL) {
        let railway = cloud.railway()
        let project = try await railway.createProject(name: name, environmentName: "production")
        let environment = try #require(project.environmentID)
        let service = try await railway.createService(projectID: project.id, environmentID: environment, name: "agent", registryCredentials: nil)
        let domain = try await railway.createDomain(environmentID: environment, serviceID: service, port: 8080)
        try await railway.commit(environmentID: environment, serviceID: service,
                                 ServiceDeploySpec(image: image, startCommand: startCommand, variables: variables), message: "first")
        return (service, try #require(URL(string: "http://\(domain)")))
    }

    /// Today's runtime (April 2026) with its own `GATEWAY_TOKEN`: health answers without a token
    /// (503 until ready, with its version and harness), provision answers a conversation and its
    /// `status`, `/pool/restart` hands variables over in place, `/convos/status` and `/convos/reset`
    /// tell and drop the conversation, the seed's "future" endpoints are a 404, and a wrong token
    /// is refused (never retried with another credential).
    @Test func todaysRuntimeProtocolWithItsOwnToken() async throws {
        var options = SimulatorOptions()
        options.deployDelay = .milliseconds(50)
        options.healthDelay = .seconds(3600)
        let cloud = SimulatedCloud(sim: try await Simulator(options: options))
        let (service, url) = try await runtimeService(cloud, name: "convos-agent-rrr111", image: "ghcr.io/a/b@sha256:0",
                                                      variables: ["GATEWAY_TOKEN": "gt_own"], startCommand: "node convos-platform/pool-server/dist/index.js")
        let runtime = RuntimeClient(http: cloud.http("runtime"), probe: cloud.http("runtime"))
        #expect(await runtime.health(url, key: "gt_own") == RuntimeHealth(ready: false, version: "sim-1", runtime: "openclaw"), "deployed, not ready yet")
        do {
            _ = try await runtime.provision(url, key: "gt_own", agentName: "Ada", instructions: "Be brief.", joinUrl: nil)
            Issue.record("provisioned before ready")
        } catch { #expect(error.status == 503) }
        options.healthDelay = .zero
        await cloud.sim.setOptions(options)
        let deadline = ContinuousClock.now + .seconds(5)
        while await runtime.health(url, key: nil)?.ready != true, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        do {
            _ = try await runtime.provision(url, key: "wrong", agentName: "Ada", instructions: "Be brief.", joinUrl: nil)
            Issue.record("provisioned with a wrong token")
        } catch { #expect(error.kind == .unauthorized) }
        let conversation = try await runtime.provision(url, key: "gt_own", agentName: "Ada", instructions: "Be brief.", joinUrl: nil)
        #expect(conversation.inviteUrl?.hasPrefix("https://convos.org/invite/") == true && !conversation.joined && conversation.status == .created)
        let state = try #require(try await runtime.conversationState(url, key: "gt_own"))
        #expect(state.conversationId == conversation.conversationId && state.clean == false && state.inboxId?.hasPrefix("inbox_") == true)
        do {
            _ = try await runtime.provision(url, key: "gt_own", agentName: "Ada", instructions: "Be brief.", joinUrl: nil)
            Issue.record("a bound runtime provisioned again")
        } catch { #expect(error.status == 500) }
        try await runtime.reset(url, key: "gt_own")
        #expect(try await runtime.conversationState(url, key: "gt_own")?.clean == true)
        let joined = try await runtime.provision(url, key: "gt_own", agentName: "Ada", instructions: "Be brief.", joinUrl: "https://convos.org/invite/x")
        #expect(joined.joined && joined.inviteUrl == "https://convos.org/invite/x" && joined.status == .joined)
        try await runtime.restart(url, key: "gt_own", env: ["AGENTMAIL_INBOX_ID": "a@b"])
        #expect(try await runtime.post(url, key: "gt_own", "update-template", body: .object([:])) == false)
        let record = try await TestHTTPClient(base: cloud.sim.baseURL).get("/_sim/runtime/\(service)").json()
        #expect(record["env"] as? [String] == ["AGENTMAIL_INBOX_ID"])
        #expect(record["bearers"] as? [String] == ["gt_own", "wrong"], "health went without a token; nothing but the runtime's own otherwise")
        #expect(record["deployments"] as? Int == 1, "the restart was in place, not a redeploy")
        #expect(runtime.stats.calls["restart-gateway|ok"] == nil, "today's runtime restarts through /pool/restart")
        await cloud.sim.shutdown()
    }

    /// Today's image under its own start command runs no pool server (every `/pool/*` a 404), and
    /// without `GATEWAY_TOKEN` it makes up its own, so nothing the pool sends is accepted.
    @Test func todaysRuntimeNeedsTheStartCommandAndItsToken() async throws {
        var options = SimulatorOptions()
        options.deployDelay = .milliseconds(10)
        options.healthDelay = .zero
        let cloud = SimulatedCloud(sim: try await Simulator(options: options))
        let runtime = RuntimeClient(http: cloud.http("runtime"), probe: cloud.http("runtime"))
        let (_, bare) = try await runtimeService(cloud, name: "convos-agent-nocmd1", image: "ghcr.io/a/b@sha256:0",
                                                 variables: ["GATEWAY_TOKEN": "gt_own"], startCommand: nil)
        let (_, tokenless) = try await runtimeService(cloud, name: "convos-agent-notok1", image: "ghcr.io/a/b@sha256:0",
                                                      variables: [:], startCommand: "node convos-platform/pool-server/dist/index.js")
        try await Task.sleep(for: .milliseconds(50))
        #expect(await runtime.health(bare, key: "gt_own") == nil, "no pool server: no /pool/health")
        #expect(await runtime.health(tokenless, key: nil)?.ready == true)
        do {
            _ = try await runtime.provision(tokenless, key: "gt_own", agentName: "Ada", instructions: "Be brief.", joinUrl: nil)
            Issue.record("a runtime without GATEWAY_TOKEN accepted a token")
        } catch { #expect(error.kind == .unauthorized) }
        await cloud.sim.shutdown()
    }

    /// The seed's runtime (February 2026) with its own `POOL_API_KEY`: health asks for the key (the
    /// client asks again with it), restart is `/pool/restart-gateway`, and there is no `/convos/*`.
    @Test func seedRuntimeProtocolWithItsOwnKey() async throws {
        var options = SimulatorOptions()
        options.deployDelay = .milliseconds(10)
        options.healthDelay = .zero
        let cloud = SimulatedCloud(sim: try await Simulator(options: options))
        let (service, url) = try await runtimeService(cloud, name: "convos-agent-seed11", image: "ghcr.io/a/b:seed-2026-02",
                                                      variables: ["POOL_API_KEY": "rk_own"], startCommand: nil)
        let runtime = RuntimeClient(http: cloud.http("runtime"), probe: cloud.http("runtime"))
        let deadline = ContinuousClock.now + .seconds(5)
        while await runtime.health(url, key: "rk_own")?.ready != true, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await runtime.health(url, key: "wrong") == nil, "401 with another key")
        let conversation = try await runtime.provision(url, key: "rk_own", agentName: "Ada", instructions: "Be brief.", joinUrl: nil)
        #expect(conversation.conversationId != nil && conversation.status == .created)
        #expect(try await runtime.conversationState(url, key: "rk_own") == nil, "no /convos/status")
        try await runtime.restart(url, key: "rk_own", env: ["AGENTMAIL_INBOX_ID": "a@b"])
        #expect(runtime.stats.calls["restart-gateway|ok"]?.count == 1, "after /pool/restart's 404")
        let record = try await TestHTTPClient(base: cloud.sim.baseURL).get("/_sim/runtime/\(service)").json()
        #expect(record["env"] as? [String] == ["AGENTMAIL_INBOX_ID"])
        await cloud.sim.shutdown()
    }

    @Test func railwayErrorsAreClassified() async throws {
        let cloud = try await SimulatedCloud.start()
        let anonymous = RailwayClient(endpoint: URL(string: cloud.sim.railwayURL)!, token: "", workspaceID: nil, http: cloud.http("railway"))
        await #expect(throws: ProviderError(.unauthorized, provider: "railway", message: "Not Authorized", status: 200)) {
            _ = try await anonymous.projects()
        }
        let none = RailwayClient(endpoint: URL(string: cloud.sim.railwayURL)!, token: nil, workspaceID: nil, http: cloud.http("railway"))
        do { _ = try await none.projects(); Issue.record("no token accepted") } catch { #expect(error.kind == .notConfigured) }
        await cloud.sim.shutdown()
    }

    @Test func ghcrResolvesTagsAnonymouslyAndFollowsMoves() async throws {
        let cloud = try await SimulatedCloud.start()
        let ghcr = cloud.ghcr()
        let image = try #require(ImageReference("ghcr.io/xmtplabs/convos-runtime:production"))
        let digest = try await ghcr.resolve(image)
        #expect(digest.hasPrefix("sha256:") && digest.count == 71)
        #expect(try await ghcr.resolve(image) == digest)
        let moved = await cloud.sim.moveTag(repository: "xmtplabs/convos-runtime", tag: "production")
        #expect(try await ghcr.resolve(image) == moved)
        let missing = try #require(ImageReference("ghcr.io/xmtplabs/convos-runtime:missing"))
        do {
            _ = try await ghcr.resolve(missing)
            Issue.record("missing tag resolved")
        } catch { #expect(error.kind == .notFound) }
        // The anonymous token flow ran once: the challenge, the token, then cached.
        #expect(ghcr.stats.calls["token|ok"]?.count == 1)
        await cloud.sim.shutdown()
    }

    @Test func openRouterKeyLifecycle() async throws {
        let cloud = try await SimulatedCloud.start()
        let openRouter = cloud.openRouter()
        let created = try await openRouter.create(name: "convos-agent-bbb222", options: ToolOptions(limitUsd: 10, limitReset: "monthly"))
        #expect(created.variables["OPENROUTER_API_KEY"]?.hasPrefix("sk-or-v1-") == true)
        #expect(created.config == ["limitUsd": "10", "limitReset": "monthly"])
        #expect(try await openRouter.observe(name: "convos-agent-bbb222")?.externalID == created.externalID)
        // Found again by name, the key has no secret: it is only ever in the create's answer.
        #expect(try await openRouter.observe(name: "convos-agent-bbb222")?.variables.isEmpty == true)
        // Observe says whether the key is up to date (Crossplane's ResourceUpToDate); update brings it there.
        #expect(openRouter.isUpToDate(created, with: ToolOptions(limitUsd: 10, limitReset: "monthly")))
        #expect(openRouter.isUpToDate(created, with: ToolOptions()), "unset options ask for nothing")
        #expect(!openRouter.isUpToDate(created, with: ToolOptions(limitUsd: 20)))
        #expect(!openRouter.isUpToDate(created, with: ToolOptions(limitUsd: 10, limitReset: "daily")))
        try await openRouter.update(name: "convos-agent-bbb222", externalID: created.externalID, options: ToolOptions(limitUsd: 20))
        let updated = try #require(try await openRouter.observe(name: "convos-agent-bbb222"))
        #expect(openRouter.isUpToDate(updated, with: ToolOptions(limitUsd: 20)))
        #expect(cloud.agentMail().isUpToDate(updated, with: ToolOptions(displayName: "x")), "an inbox has nothing to update")
        try await openRouter.delete(name: "convos-agent-bbb222", externalID: created.externalID)
        try await openRouter.delete(name: "convos-agent-bbb222", externalID: created.externalID)
        try await openRouter.delete(name: "convos-agent-bbb222", externalID: nil)
        #expect(await cloud.live("openrouter").isEmpty)
        await cloud.sim.shutdown()
    }

    @Test func agentMailInboxIsIdempotentByClientID() async throws {
        let cloud = try await SimulatedCloud.start()
        let mail = cloud.agentMail()
        let a = try await mail.create(name: "convos-agent-ccc333", options: ToolOptions(displayName: "Concierge"))
        let b = try await mail.create(name: "convos-agent-ccc333", options: ToolOptions(displayName: "Concierge"))
        #expect(a == b)
        #expect(await cloud.live("agentmail").count == 1)
        #expect(try await mail.observe(name: "convos-agent-ccc333") == a)
        try await mail.update(name: "convos-agent-ccc333", externalID: a.externalID, options: ToolOptions(displayName: "Renamed"))
        try await mail.delete(name: "convos-agent-ccc333", externalID: a.externalID)
        try await mail.delete(name: "convos-agent-ccc333", externalID: a.externalID)
        #expect(await cloud.live("agentmail").isEmpty)
        await cloud.sim.shutdown()
    }

    /// Telnyx's primitives against its fake: search, order (a taken number collides), follow the
    /// order, find the number by itself, attach it to a messaging profile, release it.
    @Test func telnyxNumbersAreOrderedAttachedAndReleased() async throws {
        let cloud = try await SimulatedCloud.start(orderDelay: .milliseconds(100))
        let telnyx = cloud.telnyx()
        let found = try await telnyx.search(country: "US")
        #expect(found.count == 20 && Set(found).count == 20)
        let order = try await telnyx.order(found[3], reference: "convos-agent-ddd444")
        #expect(order.status == .pending && order.phoneNumber == found[3])
        do {
            _ = try await telnyx.order(found[3], reference: "convos-agent-eee555")
            Issue.record("a taken number was ordered twice")
        } catch {
            #expect(error.kind == .conflict)
        }
        #expect(try await telnyx.search(country: "US").contains(found[3]) == false, "an ordered number is offered no more")
        var done = order
        let deadline = ContinuousClock.now + .seconds(5)
        while done.status == .pending, ContinuousClock.now < deadline { done = try #require(try await telnyx.order(id: order.id)) }
        #expect(done.status == .success)
        #expect(try await telnyx.orders(reference: "convos-agent-ddd444").map(\.id) == [order.id])
        let numberID = try #require(try await telnyx.number(found[3])?.id)
        let profile = try await telnyx.messagingProfile(named: "convos-agents")
        #expect(try await telnyx.messagingProfile(named: "convos-agents") == profile, "found, not made twice")
        try await telnyx.attach(numberID: numberID, messagingProfileID: profile)
        try await telnyx.label(numberID: numberID, reference: "convos-agent-ddd444")
        #expect(await cloud.live("telnyx").map(\.name) == ["convos-agent-ddd444"])
        try await telnyx.release(numberID: numberID)
        try await telnyx.release(numberID: numberID)
        #expect(try await telnyx.isGone(numberID: numberID))
        #expect(await cloud.live("telnyx").isEmpty)
        await cloud.sim.shutdown()
    }

    @Test func bankrKeysAreVerified() async throws {
        let cloud = try await SimulatedCloud.start()
        let bankr = cloud.bankr()
        #expect(try await bankr.verify(key: "bk_valid_1")?.hasPrefix("0x") == true)
        do { _ = try await bankr.verify(key: "nope"); Issue.record("bad key accepted") } catch { #expect(error.kind == .unauthorized) }
        await cloud.sim.shutdown()
    }
}
