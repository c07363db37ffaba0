import Foundation
import Sync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import Providers
import Resources
import Simulator

/// The shared HTTP client under injected faults, over real HTTP to the simulated cloud.
@Suite struct FaultTests {
    @Test func rateLimitWaitsAsTold() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.rateLimitEvery = 2
        faults.retryAfterSeconds = 0.4
        cloud.sim.setFaults(faults)
        let mail = cloud.agentMail()
        _ = try await mail.observe(name: "x")          // call 1 passes
        let start = ContinuousClock.now
        _ = try await mail.observe(name: "x")          // call 2 is a 429; its retry (call 3) passes
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(400), "waited \(waited)")
        #expect(waited < .seconds(8), "waited as told, not for a backoff of its own")
        #expect(mail.stats.count(outcome: "rateLimited") == 1)
        #expect(mail.stats.retries == 1)
        await cloud.sim.shutdown()
    }

    @Test func serverErrorsAreRetriedThenSurfaced() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.errorRate = 1
        cloud.sim.setFaults(faults)
        var policy = RetryPolicy()
        policy.baseDelay = .milliseconds(1)
        let mail = cloud.agentMail(cloud.http("agentmail", policy: policy))
        do {
            _ = try await mail.observe(name: "x")
            Issue.record("a 503 was not surfaced")
        } catch {
            #expect(error.kind == .retryable && error.status == 503)
        }
        #expect(mail.stats.count(outcome: "retryable") == policy.maxAttempts, "every attempt made, then the error")
        await cloud.sim.shutdown()
    }

    @Test func nonIdempotentCreatesAreNotRetried() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.errorRate = 1
        cloud.sim.setFaults(faults)
        let openRouter = cloud.openRouter()
        await #expect(throws: ProviderError.self) { _ = try await openRouter.create(name: "n", options: ToolOptions()) }
        #expect(openRouter.stats.calls["keys.create|retryable"]?.count == 1)
        await cloud.sim.shutdown()
    }

    @Test func retryBudgetBoundsRetriesDuringAnOutage() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.errorRate = 1
        cloud.sim.setFaults(faults)
        var policy = RetryPolicy()
        policy.baseDelay = .milliseconds(1)
        policy.budgetBurst = 2
        let http = cloud.http("agentmail", policy: policy, breaker: CircuitBreaker(threshold: 10_000))
        let mail = cloud.agentMail(http)
        for _ in 0..<100 { _ = try? await mail.observe(name: "x") }
        // 100 first attempts earn 10 retries, plus the burst of 2.
        #expect(mail.stats.retries <= 12, "retries: \(mail.stats.retries)")
        #expect(mail.stats.total <= 112)
        await cloud.sim.shutdown()
    }

    @Test func breakerOpensAndRecovers() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.errorRate = 1
        cloud.sim.setFaults(faults)
        var policy = RetryPolicy()
        policy.maxAttempts = 1
        let clock = ManualClock()
        let breaker = CircuitBreaker(threshold: 3, cooldown: .seconds(5), now: { clock.now })
        let mail = cloud.agentMail(cloud.http("agentmail", policy: policy, breaker: breaker))
        for _ in 0..<3 { _ = try? await mail.observe(name: "x") }
        #expect(breaker.state == .open)
        do { _ = try await mail.observe(name: "x"); Issue.record("call went through an open breaker") } catch {
            #expect(error.kind == .breakerOpen)
        }
        #expect(mail.stats.count(outcome: "breaker_open") == 1)
        cloud.sim.setFaults(Faults())
        // Still open before the cooldown; after it, the next call is the probe and closes it.
        clock.advance(.seconds(4))
        await #expect(throws: ProviderError.self) { _ = try await mail.observe(name: "x") }
        #expect(breaker.state == .open)
        clock.advance(.seconds(2))
        _ = try await mail.observe(name: "x")
        #expect(breaker.state == .closed)
        #expect(breaker.opens == 1)
        await cloud.sim.shutdown()
    }

    @Test func lostResponseCreateIsAdoptedNotDuplicated() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.lostResponseNext = 1
        cloud.sim.setFaults(faults)
        let mail = cloud.agentMail()
        // The inbox is made, the answer is lost; the client retries the idempotent create.
        let inbox = try await mail.create(name: "convos-agent-eee555", options: ToolOptions())
        #expect(inbox.externalID == "convos-agent-eee555@agentmail.to")
        #expect(await cloud.live("agentmail").count == 1)
        #expect(mail.stats.retries == 1)
        await cloud.sim.shutdown()
    }

    /// A cancelled caller (shutdown, a stopped audit) sends no more requests: a listing ends at
    /// the page it is on, with an error, and the breaker does not count it against the provider.
    @Test func aCancelledCallerSendsNothingMore() async throws {
        let cloud = try await SimulatedCloud.start()
        let breaker = CircuitBreaker()
        let router = cloud.openRouter(cloud.http("openrouter", breaker: breaker))
        _ = try await router.create(name: "convos-agent-ccc333", options: ToolOptions())
        #expect(try await router.keys().count == 1, "listed while not cancelled")
        let listing = Task { () async -> ProviderError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(ProviderError) { _ = try await router.keys(); return nil } catch { return error }
        }
        let error = await listing.value
        #expect(error?.kind == .retryable)
        #expect(router.stats.count(outcome: "cancelled") == 1)
        #expect(router.stats.count(outcome: "ok") == 2, "the create and the first listing only")
        #expect(breaker.state == .closed)
        await cloud.sim.shutdown()
    }

    @Test func faultsEndpointRefusesBadValues() async throws {
        let cloud = try await SimulatedCloud.start()
        var request = URLRequest(url: URL(string: cloud.sim.baseURL + "/_sim/faults")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"errorRate": 2}"#.utf8)
        let (data, response) = try await URLSession.shared.shieldedData(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 400)
        #expect(String(decoding: data, as: UTF8.self).contains("errorRate"))
        #expect(cloud.sim.currentFaults == Faults())
        await cloud.sim.shutdown()
    }
}

/// Time the test moves by hand, for the breaker's cooldown.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var instant = ContinuousClock.now
    var now: ContinuousClock.Instant { lock.withLock { instant } }
    func advance(_ d: Duration) { lock.withLock { instant += d } }
}
