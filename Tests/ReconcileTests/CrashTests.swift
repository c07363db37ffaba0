import Foundation
import Testing
import Postgres
import AppTestSupport
import TestSupport

/// The real binary, SIGKILLed at random moments while it provisions and while it tears down, then
/// restarted: at the end the simulated cloud's ledger matches the database, with no leak and no
/// duplicate. The simulated cloud runs as its own process, so it outlives every kill.
@Suite struct CrashTests {
    struct Processes {
        let bin: String
        let databaseURL: String
        let simPort: Int
        let port: Int
        var sim: String { "http://127.0.0.1:\(simPort)" }
        var api: String { "http://127.0.0.1:\(port)" }

        var environment: String {
            [
                "DATABASE_URL=\(databaseURL)", "PORT=\(port)", "BIND_ADDRESS=127.0.0.1", "RECONCILE_INTERVAL=200ms", "LEASE_DURATION=900ms",
                "LOG_LEVEL=\(ProcessInfo.processInfo.environment["CONVOS_TEST_LOG_LEVEL"] ?? "error")", "RAILWAY_API_URL=\(sim)/railway/graphql/v2", "RAILWAY_API_TOKEN=t", "RAILWAY_WORKSPACE_ID=w",
                "GHCR_URL=\(sim)/ghcr", "OPENROUTER_API_URL=\(sim)/openrouter/api/v1", "OPENROUTER_PROVISIONING_KEY=k",
                "TELNYX_API_URL=\(sim)/telnyx/v2", "TELNYX_API_KEY=k", "AGENTMAIL_API_URL=\(sim)/agentmail", "AGENTMAIL_API_KEY=k",
                "BANKR_API_URL=\(sim)/bankr", "BANKR_KEYS=" + (1...40).map { "bk_crash_\($0)" }.joined(separator: ","),
                // Numbers are released, so an empty ledger proves nothing leaked (the reuse pool has its own tests).
                "INSTANCE_URL_SCHEME=http", "TELNYX_RELEASE=delete",
                // A resync (the fleet listed, strays and orphans found) every 10 s, the shortest allowed.
                "RESYNC_INTERVAL=10s",
            ].joined(separator: " ")
        }

        /// Starts the controller in the background; returns its pid.
        func startController() async throws -> Int32 {
            let out = await shellOutput("env \(environment) \(bin) serve >/tmp/convos-crash-\(port).log 2>&1 & echo $!")
            guard let pid = Int32(out.output.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestEnvironmentError("no pid") }
            let client = TestHTTPClient(base: api)
            // A start competes with the whole suite for two cores (CI once took over 20 s), so
            // readiness gets a minute, and a start that never comes shows its own log.
            do {
                try await eventually("controller ready", timeout: .seconds(60)) { (try? await client.get("/readyz").status) == 200 }
            } catch {
                let log = await shellOutput("tail -20 /tmp/convos-crash-\(port).log").output
                throw TestEnvironmentError("controller on port \(port) not ready after 60 s; its log ends:\n\(log)")
            }
            return pid
        }

        func kill(_ pid: Int32) async { await killAndWait(pid) }
    }

    @Test func killedAtRandomMomentsLeavesNoLeakAndNoDuplicate() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let p = Processes(bin: bin, databaseURL: try await TestDatabase.create(prefix: "k"), simPort: try freePort(), port: try freePort())
        let simPID = Int32(await shellOutput("\(bin) simulate --port \(p.simPort) --deploy-delay-ms 100 --order-delay-ms 50 --lost-response-rate 0.1 >/dev/null 2>&1 & echo $!")
            .output.trimmingCharacters(in: .whitespacesAndNewlines))!
        let client = TestHTTPClient(base: p.api)
        let db = PostgresPool(url: p.databaseURL, size: 2)

        var pid = try await p.startController()
        let specs = Specs.join(Specs.poolSized(4), Specs.conciergeTemplate, Specs.agent("a1", owner: "alice"), Specs.agent("a2", owner: "bob"))
        #expect(try await client.send("POST", "/v1/apply", body: Data(specs.utf8), headers: ["Content-Type": "application/yaml"]).status == 200)
        // Provisioning: kill at random moments.
        let kills = Chaos.full ? (provisioning: 120, teardown: 80) : (provisioning: 5, teardown: 4)
        for _ in 0..<kills.provisioning {
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...700)))
            await p.kill(pid)
            pid = try await p.startController()
        }
        try await eventually("converged after the kills", timeout: .seconds(60)) {
            let ready = try await db.query("SELECT count(*)::int AS n FROM pool.agents WHERE status->>'phase' = 'Ready'").first!.decode("n", as: Int.self)
            let idle = try await db.query("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'idle'").first!.decode("n", as: Int.self)
            return ready == 2 && idle == 4
        }
        do {
            try await eventually("ledger matches the database") { try await ledgerMatches(p, db) }
        } catch {
            Issue.record("ledger and database differ: \(try await difference(p, db))")
        }

        // Teardown: delete the agents, empty the pool, and kill again.
        _ = try await client.send("DELETE", "/v1/agents/a1")
        _ = try await client.send("DELETE", "/v1/agents/a2")
        _ = try await client.send("POST", "/v1/apply", body: Data(Specs.poolSized(0).utf8), headers: ["Content-Type": "application/yaml"])
        for _ in 0..<kills.teardown {
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...500)))
            await p.kill(pid)
            pid = try await p.startController()
        }
        try await eventually("everything torn down", timeout: .seconds(60)) {
            let rows = try await db.query("SELECT (SELECT count(*) FROM pool.instances)::int + (SELECT count(*) FROM pool.agents)::int AS n").first!.decode("n", as: Int.self)
            let live = try await ledger(p)
            return rows == 0 && live.isEmpty
        }
        await p.kill(pid)
        print("chaos: \(kills.provisioning + kills.teardown) SIGKILLs with 10% lost responses: ledger matched the database after provisioning, and was empty after teardown")
        _ = await shell("kill -TERM \(simPID)")
        await db.close()
    }

    /// Two replicas with the production lease (6 s): the leader is SIGKILLed, so it cannot release
    /// the lease; the other must take over within 10 seconds, with a higher fencing token.
    @Test func killedLeaderIsReplacedWithinTenSeconds() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let url = try await TestDatabase.create(prefix: "l")
        let db = PostgresPool(url: url, size: 1)
        var pids: [Int32] = []
        for _ in 0..<2 {
            let port = try freePort()
            let out = await shellOutput("env DATABASE_URL='\(url)' PORT=\(port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=error \(bin) serve --simulate >/dev/null 2>&1 & echo $!")
            pids.append(Int32(out.output.trimmingCharacters(in: .whitespacesAndNewlines))!)
            let client = TestHTTPClient(port: port)
            try await eventually("replica ready") { (try? await client.get("/readyz").status) == 200 }
        }
        func lease() async throws -> (holder: String, token: Int)? {
            guard let row = try await db.query("SELECT holder, fencing_token FROM pool.leases WHERE name = 'reconciler' AND expires_at > now()").first else { return nil }
            return (try row.decode("holder"), try row.decode("fencing_token"))
        }
        try await eventually("a leader") { try await lease() != nil }
        let first = try #require(try await lease())
        let leader = try #require(pids.first { first.holder.contains("/\($0)/") })
        let killedAt = ContinuousClock.now
        _ = await shell("kill -9 \(leader)")
        try await eventually("another replica leads", timeout: .seconds(10)) {
            guard let now = try await lease() else { return false }
            return now.holder != first.holder
        }
        let handover = ContinuousClock.now - killedAt
        #expect(handover < .seconds(10), "handover took \(handover)")
        #expect(try #require(try await lease()).token > first.token)
        for pid in pids { await killAndWait(pid) }
        await db.close()
    }

    /// Three replicas, the leader SIGKILLed again and again: each time another takes over within
    /// 10 s with a higher fencing token, and no token is ever held by two replicas.
    @Test func repeatedLeaderKillsAmongThreeReplicas() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let url = try await TestDatabase.create(prefix: "f")
        let db = PostgresPool(url: url, size: 1)
        func start() async throws -> Int32 {
            let port = try freePort()
            let out = await shellOutput("env DATABASE_URL='\(url)' PORT=\(port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=error LEASE_DURATION=900ms \(bin) serve --simulate >/dev/null 2>&1 & echo $!")
            let client = TestHTTPClient(port: port)
            try await eventually("replica ready") { (try? await client.get("/readyz").status) == 200 }
            return Int32(out.output.trimmingCharacters(in: .whitespacesAndNewlines))!
        }
        func lease() async throws -> (holder: String, token: Int)? {
            guard let row = try await db.query("SELECT holder, fencing_token FROM pool.leases WHERE name = 'reconciler' AND expires_at > now()").first else { return nil }
            return (try row.decode("holder"), try row.decode("fencing_token"))
        }
        var pids = [try await start(), try await start(), try await start()]
        var history: [(holder: String, token: Int)] = []
        var slowest = Duration.zero
        do {
        try await eventually("a leader") { try await lease() != nil }
        for _ in 0..<(Chaos.full ? 20 : 3) {
            let current = try #require(try await lease())
            history.append(current)
            let leader = try #require(pids.first { current.holder.contains("/\($0)/") })
            let killedAt = ContinuousClock.now
            await killAndWait(leader)
            try await eventually("a new leader", timeout: .seconds(10)) {
                guard let now = try await lease() else { return false }
                return now.holder != current.holder
            }
            slowest = max(slowest, ContinuousClock.now - killedAt)
            pids.removeAll { $0 == leader }
            pids.append(try await start())
        }
        history.append(try #require(try await lease()))
        #expect(zip(history, history.dropFirst()).allSatisfy { $0.token < $1.token && $0.holder != $1.holder })
        #expect(Set(history.map(\.token)).count == history.count, "a fencing token held twice")
        #expect(slowest < .seconds(10))
        print("chaos: failover: leader killed \(history.count - 1) times, slowest handover \(slowest), tokens \(history.map(\.token))")
        } catch {
            // Never leave replicas running behind a failed test.
            for pid in pids { await killAndWait(pid) }
            throw error
        }
        for pid in pids { await killAndWait(pid) }
        await db.close()
    }

    /// SIGTERM: stop taking work, finish in flight, release the lease at once, exit 0.
    @Test func sigtermDrainsReleasesTheLeaseAndExitsZero() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let url = try await TestDatabase.create(prefix: "s")
        let port = try freePort()
        // Written aside and renamed: the test must never read the file the shell has just created empty.
        let status = "/tmp/convos-sigterm-\(port).status"
        let pidFile = "/tmp/convos-sigterm-\(port).pid"
        _ = await shell("(env DATABASE_URL='\(url)' PORT=\(port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=error \(bin) serve --simulate >/dev/null 2>&1 & p=$!; echo $p > \(pidFile); wait $p; echo $? > \(status).tmp; mv \(status).tmp \(status)) >/dev/null 2>&1 &")
        let db = PostgresPool(url: url, size: 1)
        try await eventually("leading") {
            (try? await db.query("SELECT 1 FROM pool.leases WHERE expires_at > now()").isEmpty) == false
        }
        let pid = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(await shell("kill -TERM \(pid)") == 0)
        try await eventually("exited") { FileManager.default.fileExists(atPath: status) }
        let code = try String(contentsOfFile: status, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(code == "0")
        #expect(try await db.query("SELECT 1 FROM pool.leases WHERE expires_at > now()").isEmpty, "lease released, not left to expire")
        await db.close()
        unlink(status)
        unlink(pidFile)
    }

    func ledger(_ p: Processes) async throws -> [[String: Any]] {
        (try await TestHTTPClient(base: p.sim).get("/_sim/ledger").json()["resources"] as? [[String: Any]]) ?? []
    }

    func difference(_ p: Processes, _ db: PostgresPool) async throws -> String {
        let live = try await ledger(p).map { "\($0["provider"]!):\($0["kind"]!):\($0["name"]!)" }.sorted()
        let rows = try await db.query("SELECT instance_id, state, agent FROM pool.instances").rows.map {
            "\(try $0.decode("instance_id", as: String.self)):\(try $0.decode("state", as: String.self)):\(try $0.decode("agent", as: String?.self) ?? "-")"
        }
        let tools = try await db.query("SELECT instance_id, tool, state, external_id FROM services.tool_resources ORDER BY 1, 2").rows.map {
            "\(try $0.decode("instance_id", as: String.self))/\(try $0.decode("tool", as: String.self)):\(try $0.decode("state", as: String.self))"
        }
        // Services deployed other than once, with the events that say who deployed them.
        let body = try await TestHTTPClient(base: p.sim).get("/_sim/ledger").json()
        let odd = (body["deployments"] as? [[String: Any]] ?? []).filter { $0["deployments"] as? Int != 1 }
            .map { "\($0["project"] as? String ?? "?"): \($0["deployments"] as? Int ?? 0)" }
        let events = try await db.query("SELECT kind, name, reason, message FROM pool.events WHERE reason IN ('VariablesRemoved', 'Upgrading', 'RolloutStarted', 'SelfUpgrade') ORDER BY id").rows.map {
            "\(try $0.decode("kind", as: String.self))/\(try $0.decode("name", as: String.self)) \(try $0.decode("reason", as: String.self)): \(try $0.decode("message", as: String.self))"
        }
        return "ledger \(live); rows \(rows); tools \(tools); deployed other than once \(odd); redeploying events \(events)"
    }

    /// Per instance row one Railway project with one volume, one deployment and one key; per claimed
    /// instance one inbox and one number; nothing else.
    func ledgerMatches(_ p: Processes, _ db: PostgresPool) async throws -> Bool {
        let body = try await TestHTTPClient(base: p.sim).get("/_sim/ledger").json()
        let live = body["resources"] as? [[String: Any]] ?? []
        let deployments = (body["deployments"] as? [[String: Any]] ?? []).compactMap { $0["deployments"] as? Int }
        let rows = try await db.query("SELECT instance_id, state FROM pool.instances").rows
        let instances = Set(try rows.map { "convos-agent-" + (try $0.decode("instance_id", as: String.self)) })
        let claimed = Set(try rows.filter { try $0.decode("state", as: String.self) == "claimed" }.map { "convos-agent-" + (try $0.decode("instance_id", as: String.self)) })
        func names(_ provider: String, _ kind: String? = nil) -> [String] {
            live.filter { $0["provider"] as? String == provider && (kind == nil || $0["kind"] as? String == kind) }.compactMap { $0["name"] as? String }
        }
        return names("railway", "project").sorted() == instances.sorted()
            && names("railway", "volume").sorted() == instances.sorted()
            && deployments.count == instances.count && deployments.allSatisfy { $0 == 1 }
            && names("openrouter").sorted() == instances.sorted()
            && names("agentmail").sorted() == claimed.sorted()
            // Numbers are kept by their ids, not named after the agent (Telnyx need not copy an
            // order's reference onto its number): one live number per claimed instance.
            && names("telnyx").count == claimed.count
    }
}
