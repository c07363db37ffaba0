import Foundation
import Sync
import Testing
@testable import Providers
import Resources
import Simulator

/// A clock tests move by hand.
final class DateClock: Sendable {
    private let time = Locked(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { time.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Provider quotas: what the headers say, what a 429 says, and Railway's pace per token.
@Suite struct QuotaTests {
    @Test func gateReadsRateLimitHeadersAndBlocksUntilTheReset() {
        let clock = DateClock()
        let gate = QuotaGate(now: { clock.now })
        gate.observe(headers: ["x-ratelimit-limit": "10000", "x-ratelimit-remaining": "9", "x-ratelimit-reset": "120"])
        #expect(gate.snapshot.remaining == 9 && gate.snapshot.limit == 10000)
        #expect(gate.wait() == nil)
        // Used up, reset as a Unix time: nothing is sent until then.
        let reset = clock.now.addingTimeInterval(300).timeIntervalSince1970
        gate.observe(headers: ["x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Int(reset))])
        #expect(gate.wait().map { $0 > .seconds(290) && $0 <= .seconds(300) } == true)
        clock.advance(301)
        #expect(gate.wait() == nil)
        // A 429's Retry-After of any length holds the credential that long.
        gate.block(for: .seconds(120))
        clock.advance(119)
        #expect(gate.wait() != nil)
        clock.advance(2)
        #expect(gate.wait() == nil)
    }

    @Test func railwayTokensLearnThePaceFromTheErrorAndRotate() throws {
        let clock = DateClock()
        let tokens = RailwayTokens(["a", "b"], projectInterval: .seconds(31), now: { clock.now })
        // Nothing learned yet: a create holds its token only while in flight, so a concurrent one
        // takes the other token, and a third waits a moment.
        let first = try tokens.take(.projectCreate).get()
        let concurrent = try tokens.take(.projectCreate).get()
        #expect(first.index != concurrent.index)
        guard case .failure(let busy) = tokens.take(.projectCreate) else { Issue.record("a third create found a token"); return }
        #expect(busy.kind == .paced && busy.retryAfter.map { $0 <= .seconds(1) } == true)
        tokens.finished(concurrent, .projectCreate)
        tokens.finished(first, .projectCreate)
        let again = try tokens.take(.projectCreate).get()
        #expect(again.index == first.index, "free again once answered")
        tokens.finished(again, .projectCreate)
        // Railway said "only one project per 30 s": that token waits, the other is taken.
        tokens.paced(first, .projectCreate, retryAfter: nil)
        let other = try tokens.take(.projectCreate).get()
        #expect(other.index != first.index)
        tokens.paced(other, .projectCreate, retryAfter: nil)
        tokens.finished(other, .projectCreate)
        // Both paced: the caller is told how long, with no request made.
        guard case .failure(let error) = tokens.take(.projectCreate) else { Issue.record("a paced pool gave a token"); return }
        #expect(error.kind == .paced)
        #expect(error.retryAfter.map { $0 > .seconds(30) && $0 <= .seconds(31) } == true)
        // Other calls go on meanwhile.
        #expect((try? tokens.take(.other).get()) != nil)
        clock.advance(32)
        // Learned: each create now reserves its token for the pace, so two in a row use both tokens.
        let x = try tokens.take(.projectCreate).get()
        tokens.finished(x, .projectCreate)
        let y = try tokens.take(.projectCreate).get()
        tokens.finished(y, .projectCreate)
        #expect(x.index != y.index)
        guard case .failure = tokens.take(.projectCreate) else { Issue.record("a third create found a free token"); return }
    }

    /// Railway's words state the pace ("...every 4 seconds"): the token waits that long, not the 31 s
    /// assumed when they give none, and each create then reserves it for that pace.
    @Test func theStatedPaceIsTheOneKept() throws {
        #expect(RailwayClient.statedPace("Only one project can be created per user every 4 seconds") == 4)
        #expect(RailwayClient.statedPace("Only one project can be created per user every 2 minutes") == 120)
        #expect(RailwayClient.statedPace("You are creating volumes too quickly") == nil)
        let clock = DateClock()
        let tokens = RailwayTokens(["a"], projectInterval: .seconds(31), now: { clock.now })
        let first = try tokens.take(.projectCreate).get()
        tokens.finished(first, .projectCreate)
        tokens.paced(first, .projectCreate, retryAfter: .seconds(4))
        guard case .failure(let wait) = tokens.take(.projectCreate) else { Issue.record("a paced token was given"); return }
        #expect(wait.retryAfter.map { $0 > .seconds(4) && $0 <= .milliseconds(4500) } == true, "\(String(describing: wait.retryAfter))")
        clock.advance(4.6)
        let next = try tokens.take(.projectCreate).get()
        tokens.finished(next, .projectCreate)
        guard case .failure(let held) = tokens.take(.projectCreate) else { Issue.record("the learned pace was not reserved"); return }
        #expect(held.retryAfter.map { $0 > .seconds(4) && $0 <= .milliseconds(4500) } == true)
    }

    /// Against the simulator with a 4 s pace: the refusal's words are read, and the wait the
    /// caller is told is that pace, not 31 s.
    @Test func aFourSecondPaceIsReadFromRailwaysAnswer() async throws {
        var options = SimulatorOptions()
        options.projectCreateInterval = .seconds(4)
        let sim = try await Simulator(options: options)
        let railway = RailwayClient(endpoint: URL(string: sim.railwayURL)!, tokens: RailwayTokens(["t1"]), workspaceID: "w",
                                    http: ProviderHTTPClient(provider: "railway"))
        _ = try await railway.createProject(name: "p1", environmentName: "production")
        var told: ProviderError?
        do { _ = try await railway.createProject(name: "p2", environmentName: "production") } catch { told = error }
        #expect(told?.kind == .paced)
        #expect(told?.retryAfter.map { $0 > .seconds(3) && $0 <= .milliseconds(4500) } == true, "\(String(describing: told?.retryAfter))")
        await sim.shutdown()
    }

    @Test func aTokenThatCreatesTwiceWithinThePaceIsNeverHeld() throws {
        let clock = DateClock()
        let tokens = RailwayTokens(["only"], projectInterval: .seconds(31), now: { clock.now })
        let first = try tokens.take(.projectCreate).get()
        guard case .failure = tokens.take(.projectCreate) else { Issue.record("an unlearned token took two creates at once"); return }
        tokens.created(first, .projectCreate)
        tokens.finished(first, .projectCreate)
        clock.advance(1)
        let second = try tokens.take(.projectCreate).get()
        tokens.created(second, .projectCreate)
        tokens.finished(second, .projectCreate)
        // Two projects a second apart, neither refused: the token has no pace, creates overlap on it.
        let a = try tokens.take(.projectCreate).get()
        let b = try tokens.take(.projectCreate).get()
        #expect(a.index == 0 && b.index == 0)
        tokens.finished(a, .projectCreate)
        tokens.finished(b, .projectCreate)
        // Until Railway says otherwise: then it is paced as any other.
        tokens.paced(a, .projectCreate, retryAfter: nil)
        guard case .failure(let error) = tokens.take(.projectCreate) else { Issue.record("a paced token gave a create"); return }
        #expect(error.kind == .paced)
    }

    @Test func otherCallsTakeTheTokenWithTheMostQuotaAndSkipBlockedOnes() throws {
        let clock = DateClock()
        let tokens = RailwayTokens(["a", "b", "c"], now: { clock.now })
        tokens.gates[0].observe(headers: ["x-ratelimit-remaining": "10"])
        tokens.gates[1].observe(headers: ["x-ratelimit-remaining": "900"])
        tokens.gates[2].observe(headers: ["x-ratelimit-remaining": "50"])
        #expect(try tokens.take(.other).get().index == 1)
        tokens.gates[1].block(for: .seconds(60))
        #expect(try tokens.take(.other).get().index == 2)
        tokens.gates[0].block(for: .seconds(10))
        tokens.gates[2].block(for: .seconds(20))
        guard case .failure(let error) = tokens.take(.other) else { Issue.record("every token is blocked"); return }
        #expect(error.kind == .rateLimited && error.retryAfter.map { $0 <= .seconds(10) } == true)
    }

    /// A 429 with a long Retry-After is not slept through and not dropped: it is thrown with the
    /// wait, and the provider's next calls fail at once, with no request, until then.
    @Test func longRetryAfterDefersTheProviderWithoutRequests() async throws {
        let cloud = try await SimulatedCloud.start()
        var faults = Faults()
        faults.rateLimitEvery = 1
        faults.retryAfterSeconds = 120
        faults.providers = ["agentmail"]
        cloud.sim.setFaults(faults)
        let mail = cloud.agentMail()
        do {
            _ = try await mail.observe(name: "x")
            Issue.record("a 429 was not thrown")
        } catch {
            #expect(error.kind == .rateLimited)
            #expect(error.retryAfter.map { $0 > .seconds(118) && $0 <= .seconds(120) } == true)
        }
        cloud.sim.setFaults(Faults())
        let sent = mail.stats.count(outcome: "rateLimited") + mail.stats.count(outcome: "ok")
        do {
            _ = try await mail.observe(name: "x")
            Issue.record("a call went out while the provider said to wait")
        } catch {
            #expect(error.kind == .rateLimited && error.retryAfter.map { $0 > .seconds(100) } == true)
        }
        #expect(mail.stats.count(outcome: "rateLimited") + mail.stats.count(outcome: "ok") == sent, "no request was sent")
        #expect(mail.stats.count(outcome: "deferred") == 1)
        #expect(mail.quota.snapshot.blockedUntil != nil)
        await cloud.sim.shutdown()
    }

    /// Against the simulator's per-token limit: two tokens make two projects at once, a third
    /// create is told to wait (one refused request per token teaches the pace), and no project is
    /// ever made twice.
    @Test func railwayProjectCreatesArePacedPerToken() async throws {
        var options = SimulatorOptions()
        options.projectCreateInterval = .seconds(30)
        let sim = try await Simulator(options: options)
        let railway = RailwayClient(endpoint: URL(string: sim.railwayURL)!, tokens: RailwayTokens(["t1", "t2"]), workspaceID: "w",
                                    http: ProviderHTTPClient(provider: "railway"))
        _ = try await railway.createProject(name: "p1", environmentName: "production")
        _ = try await railway.createProject(name: "p2", environmentName: "production")
        var told: ProviderError?
        do {
            _ = try await railway.createProject(name: "p3", environmentName: "production")
        } catch {
            told = error
        }
        #expect(told?.kind == .paced)
        #expect(told?.retryAfter.map { $0 > .seconds(25) } == true)
        let names = await sim.ledger().filter { $0.kind == "project" }.map(\.name).sorted()
        #expect(names == ["p1", "p2"])
        // Learned: the next create sends nothing.
        let requests = await sim.stats().railwayRequests["ProjectCreate"] ?? 0
        do {
            _ = try await railway.createProject(name: "p4", environmentName: "production")
        } catch {
            #expect(error.kind == .paced)
        }
        #expect(await sim.stats().railwayRequests["ProjectCreate"] == requests)
        await sim.shutdown()
    }
}
