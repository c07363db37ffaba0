import Foundation
import Testing
import Telemetry
import Postgres
import Simulator
import Sync
import AppTestSupport
import TestSupport


@Suite struct ChaosTests {
    /// 64 concurrent claimers across 3 replicas: every instance is claimed at most once.
    @Test func doubleClaimsAcrossThreeReplicas() async throws {
        let url = try await TestDatabase.create(prefix: "d")
        let replicas = [try await TestController.start(databaseURL: url, simulate: true),
                        try await TestController.start(databaseURL: url, simulate: true),
                        try await TestController.start(databaseURL: url, simulate: true)]
        _ = try await replicas[0].apply(Specs.join(Specs.poolSized(40, max: 100), Specs.conciergeTemplate))
        try await eventually("40 idle", timeout: .seconds(60)) { try await replicas[0].idle() >= 40 }
        let claims = Chaos.full ? 640 : 64
        // Children never throw: a thrown error cancels the group, and cancelling a URLSession task
        // can deadlock FoundationNetworking (RELIABILITY.md). The claims answer at binding (wait=0).
        let results = await withTaskGroup(of: (Int, String?).self) { group in
            for i in 0..<claims {
                group.addTask {
                    guard let r = try? await replicas[i % 3].claim("concierge", owner: "u\(i)", wait: 0) else { return (0, nil) }
                    return (r.status, (try? r.json())?["instanceId"] as? String)
                }
            }
            return await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.0 == 200 || $0.0 == 202 })
        let bound = results.compactMap(\.1)
        #expect(Set(bound).count == bound.count, "an instance was handed out twice")
        print("chaos: double claims: \(claims) claimers over 3 replicas, \(bound.count) bound, \(Set(bound).count) distinct instances")
        let rows = try await replicas[0].controller.db.query("""
            SELECT count(*)::int AS n, count(DISTINCT agent)::int AS agents FROM pool.instances WHERE state = 'claimed'
            """).first!
        #expect(try rows.decode("n", as: Int.self) == (try rows.decode("agents", as: Int.self)))
        for r in replicas { await r.stop() }
    }

    /// Postgres restarted under claim load: requests fail fast with 503 while it is down, the
    /// controller serves again within 2 s of it being back, and no acknowledged claim is lost.
    @Test func postgresRestartUnderClaimLoad() async throws {
        let cluster = try await TemporaryCluster()
        let t = try await TestController.start(databaseURL: cluster.url, simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(20), Specs.conciergeTemplate))
        try await eventually("20 idle", timeout: .seconds(60)) { try await t.idle() >= 20 }
        let acknowledged = Locked<[String]>([])
        let slowestFailure = Locked<Duration>(.zero)
        let stop = Locked(false)
        let load = Task {
            var i = 0
            while !stop.withLock({ $0 }) {
                i += 1
                let started = ContinuousClock.now
                if let r = try? await t.claim("concierge", owner: "load\(i)", wait: 0) {
                    if r.status == 200 || r.status == 202, let agent = (try? r.json())?["agent"] as? String {
                        acknowledged.withLock { $0.append(agent) }
                    } else if r.status == 503 {
                        let took = ContinuousClock.now - started
                        slowestFailure.withLock { $0 = max($0, took) }
                    }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try await eventually("some claims done") { acknowledged.withLock { $0.count } >= 5 }
        try await cluster.stop()
        try await eventually("claims refused while down") {
            try await t.claim("concierge", owner: "probe", wait: 0).status == 503
        }
        try await Task.sleep(for: .seconds(1))
        try await cluster.start()
        let back = ContinuousClock.now
        try await eventually("claims succeed again", timeout: .seconds(10)) {
            [200, 202].contains(try await t.claim("concierge", owner: "after", wait: 0).status)
        }
        let recovery = ContinuousClock.now - back
        stop.withLock { $0 = true }
        _ = await load.value
        #expect(recovery < .seconds(2), "reconnected after \(recovery)")
        #expect(slowestFailure.withLock { $0 } < .seconds(4), "503s come fast (connect timeout bounds them)")
        let agents = acknowledged.withLock { $0 }
        let stored = try await t.controller.db.query("SELECT count(*)::int AS n FROM pool.agents WHERE name = ANY($1::text[])",
                                                     ["{" + agents.joined(separator: ",") + "}"]).first!.decode("n", as: Int.self)
        #expect(stored == agents.count, "every acknowledged claim is stored")
        print("chaos: postgres restart: claims served again \(recovery) after it was back; slowest 503 \(slowestFailure.withLock { $0 }); \(agents.count) acknowledged claims, \(stored) stored")
        await t.stop()
        await cluster.destroy()
    }

    /// One provider answering 503 to everything: the breaker holds its call rate to a trickle of
    /// probes, the rest keeps converging, and it recovers without help.
    @Test func providerOutageIsContainedAndRecovers() async throws {
        let t = try await TestController.start(simulate: true)
        let sim = t.controller.simulator!
        _ = try await t.apply(Specs.join(Specs.poolSized(3), Specs.conciergeTemplate))
        try await eventually("3 idle") { try await t.idle() == 3 }
        var outage = Faults()
        outage.errorRate = 1
        outage.providers = ["openrouter"]
        sim.setFaults(outage)
        // Calls that reached the provider; those the open breaker refused never left the process.
        let stats = t.controller.providers.openRouter.stats
        func sent() -> Int { stats.total - stats.count(outcome: "breaker_open") }
        let before = sent()
        let start = ContinuousClock.now
        var agents: [String] = []
        for i in 0..<3 { agents.append(try #require(try await t.claim("concierge", owner: "o\(i)").json()["agent"] as? String)) }
        // The other tools converge while OpenRouter is down.
        try await eventually("email ready for every agent") {
            try await t.count("SELECT count(*)::int AS n FROM services.tool_resources WHERE tool = 'email' AND state = 'ready'") == 3
        }
        try await Task.sleep(for: Chaos.full ? .seconds(20) : .seconds(4))
        let outageCalls = sent() - before
        let seconds = Metrics.seconds(ContinuousClock.now - start)
        // Unbounded, every 200 ms tick would retry 3 agents with 3 attempts each: ~45 calls a second.
        // Bounded: the failures that open the breaker (5), the attempts in flight when it opens
        // (3 agents x 3), then one probe per 5 s cooldown window for each of the 3 waiting agents.
        let bound = 5 + 3 * 3 + Int((seconds / 5).rounded(.up) + 1) * 3
        print("chaos: provider outage: \(outageCalls) OpenRouter calls in \(String(format: "%.1f", seconds)) s of 100% 503 (bound \(bound)), breaker \(t.controller.providers.openRouter.breaker.state.rawValue)")
        #expect(outageCalls <= bound, "\(outageCalls) calls in \(seconds) s of outage; bound \(bound)")
        #expect(t.controller.providers.openRouter.breaker.state != .closed)
        sim.setFaults(Faults())
        try await eventually("all Ready after the outage", timeout: .seconds(30)) {
            try await agents.asyncAllSatisfy { try await t.phase($0) == "Ready" }
        }
        #expect(t.controller.providers.openRouter.breaker.state == .closed)
        await t.stop()
    }
}
