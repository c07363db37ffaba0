import Foundation
import Testing
@testable import Providers
import Resources
import Simulator

/// Each provider against the simulated cloud over real HTTP: create, observe, update, delete;
/// a second create is the same resource; a second delete is fine.
@Suite struct ProviderTests {
    @Test func railwayProjectLifecycle() async throws {
        let cloud = try await SimulatedCloud.start()
        let railway = cloud.railway()
        let image = "ghcr.io/a/b@sha256:" + String(repeating: "c", count: 64)
        let first = try await railway.ensure(name: "convos-agent-aaa111", image: image, variables: ["A": "1"])
        #expect(first.isComplete)
        let again = try await railway.ensure(name: "convos-agent-aaa111", image: image, variables: ["A": "1"])
        #expect(again.id == first.id && again.serviceID == first.serviceID && again.domain == first.domain)
        #expect(await cloud.live("railway").count == 1)
        let observed = try #require(try await railway.project(named: "convos-agent-aaa111"))
        #expect(["INITIALIZING", "DEPLOYING", "SUCCESS"].contains(observed.deploymentStatus ?? ""))
        try await railway.setVariables(observed, ["B": "2"])
        try await railway.updateImage(observed, image: "ghcr.io/a/b:next")
        try await railway.deleteProject(id: first.id)
        try await railway.deleteProject(id: first.id)
        #expect(await cloud.live("railway").isEmpty)
        #expect(try await railway.project(named: "convos-agent-aaa111") == nil)
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
        let image = try #require(ImageReference("ghcr.io/xmtplabs/convos-agent-runtime:production"))
        let digest = try await ghcr.resolve(image)
        #expect(digest.hasPrefix("sha256:") && digest.count == 71)
        #expect(try await ghcr.resolve(image) == digest)
        let moved = await cloud.sim.moveTag(repository: "xmtplabs/convos-agent-runtime", tag: "production")
        #expect(try await ghcr.resolve(image) == moved)
        let missing = try #require(ImageReference("ghcr.io/xmtplabs/convos-agent-runtime:missing"))
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
        let created = try await openRouter.create(name: "convos-agent-bbb222", options: ToolOptions(creditLimitUsd: 10))
        #expect(created.variables["OPENROUTER_API_KEY"]?.hasPrefix("sk-or-v1-") == true)
        #expect(try await openRouter.observe(name: "convos-agent-bbb222")?.externalID == created.externalID)
        // Found again by name, the key has no secret: it is only ever in the create's answer.
        #expect(try await openRouter.observe(name: "convos-agent-bbb222")?.variables.isEmpty == true)
        try await openRouter.update(name: "convos-agent-bbb222", externalID: created.externalID, options: ToolOptions(creditLimitUsd: 20))
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

    @Test func telnyxOrderIsFollowedAndNumberReleased() async throws {
        let cloud = try await SimulatedCloud.start(orderDelay: .milliseconds(100))
        let telnyx = cloud.telnyx()
        let pending = try await telnyx.create(name: "convos-agent-ddd444", options: ToolOptions(country: "US"))
        #expect(pending.state == .pending)
        // Asked again: the same order (or, if it completed meanwhile, its number); never a second purchase.
        let again = try await telnyx.create(name: "convos-agent-ddd444", options: ToolOptions())
        #expect(again.state == .pending || again.variables["TELNYX_PHONE_NUMBER"] != nil)
        var ready: ToolObservation?
        let deadline = ContinuousClock.now + .seconds(5)
        while ready == nil, ContinuousClock.now < deadline {
            if let o = try await telnyx.observe(name: "convos-agent-ddd444"), o.state == .ready { ready = o } else { await Task.yield() }
        }
        let number = try #require(ready)
        #expect(number.variables["TELNYX_PHONE_NUMBER"]?.hasPrefix("+1") == true)
        #expect(await cloud.sim.events().filter { $0.kind == "number_order" }.count == 1)
        try await telnyx.update(name: "convos-agent-ddd444", externalID: number.externalID, options: ToolOptions())
        try await telnyx.delete(name: "convos-agent-ddd444", externalID: number.externalID)
        try await telnyx.delete(name: "convos-agent-ddd444", externalID: number.externalID)
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
