import Foundation
import Testing
import Postgres
import Sync
import AppTestSupport
import TestSupport

/// A leader that stops without dying (a GC pause, a frozen VM), a SIGTERM in the middle of a burst
/// of actions, and SIGKILLs while agents come and go: the real binary against the simulated cloud
/// in a process of its own, and what is left checked in its ledger.
@Suite struct FencingTests {
    typealias Processes = CrashTests.Processes

    /// The processes a test started (controllers, the simulator): killed when the test ends,
    /// whether it passed or threw, so none outlives it (a frozen one least of all).
    final class Reaper: Sendable {
        private let pids = Locked<[Int32]>([])
        func add(_ pid: Int32) { pids.withLock { $0.append(pid) } }
        func reap() async {
            for pid in pids.withLock({ $0 }) {
                _ = await shell("kill -CONT \(pid) 2>/dev/null")
                await killAndWait(pid)
            }
        }

        static func run(_ body: (Reaper) async throws -> Void) async throws {
            let reaper = Reaper()
            do { try await body(reaper) } catch {
                await reaper.reap()
                throw error
            }
            await reaper.reap()
        }
    }

    static func binary() throws -> String {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        return bin
    }

    /// The simulated cloud as its own process; returns its pid.
    static func startSimulator(_ bin: String, port: Int, lostResponses: Double = 0) async -> Int32 {
        Int32(await shellOutput("\(bin) simulate --port \(port) --deploy-delay-ms 100 --order-delay-ms 50 --lost-response-rate \(lostResponses) >/dev/null 2>&1 & echo $!")
            .output.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// The lease's holder and fencing token, and the holder's pid (the holder is `host/pid/id`).
    static func leader(_ db: PostgresPool) async throws -> (pid: Int32, token: Int)? {
        guard let row = try await db.query("SELECT holder, fencing_token FROM pool.leases WHERE expires_at > now()").first else { return nil }
        let holder: String = try row.decode("holder")
        let parts = holder.split(separator: "/")
        guard parts.count >= 2, let pid = Int32(parts[1]) else { return nil }
        return (pid, try row.decode("fencing_token"))
    }

    static func claim(_ client: TestHTTPClient, name: String = "Concierge") async throws -> String? {
        let body = Data(#"{"templateId": "concierge", "ownerId": "frozen-test", "agentName": "\#(name)"}"#.utf8)
        let response = try await client.send("POST", "/api/pool/claim?wait=0", body: body, headers: ["Content-Type": "application/json"])
        return try response.json()["agent"] as? String
    }

    /// Every agent has its conversation, and no runtime was given another agent: each runtime's
    /// provisions since its last reset all name its own agent (`agentName` is the agent's in these
    /// tests). A configure the freeze cut is provisioned again, refused by the bound runtime, and
    /// the runtime reset: it may then serve another agent, holding nothing of the first.
    static func everyClaimAnswered(_ agents: [(agent: String, name: String)], _ db: PostgresPool, sim: String) async throws -> Bool {
        for (agent, name) in agents {
            guard let row = try await db.query("""
                SELECT i.invite_url, s.railway_service_id FROM pool.instances i JOIN services.instances s USING (instance_id) WHERE i.agent = $1
                """, [agent]).first, try row.decode("invite_url", as: String?.self) != nil else { return false }
            let service: String = try row.decode("railway_service_id")
            let record = try await TestHTTPClient(base: sim).get("/_sim/runtime/\(service)").json()
            let names = Set(((record["provisionsSinceReset"] as? [[String: Any]]) ?? []).compactMap { $0["agentName"] as? String })
            guard names == [name] else { return false }
        }
        return true
    }

    /// Each agent's instance, invite and how often its runtime was provisioned, for a failure's message.
    static func claims(_ agents: [(agent: String, name: String)], _ db: PostgresPool, sim: String) async throws -> [String] {
        var out: [String] = []
        for (agent, _) in agents {
            let row = try await db.query("""
                SELECT i.instance_id, i.state, i.invite_url, s.railway_service_id, a.status::text AS status FROM pool.agents a
                LEFT JOIN pool.instances i ON i.agent = a.name LEFT JOIN services.instances s USING (instance_id) WHERE a.name = $1
                """, [agent]).first
            let service = try row?.decode("railway_service_id", as: String?.self)
            var provisions = -1
            var bodies = ""
            if let service {
                let record = try await TestHTTPClient(base: sim).get("/_sim/runtime/\(service)")
                provisions = (try record.json()["provisions"] as? [Any])?.count ?? -1
                bodies = record.text
            }
            out.append("\(agent): instance \(try row?.decode("instance_id", as: String?.self) ?? "-") invite \(try row?.decode("invite_url", as: String?.self) ?? "-") provisions \(provisions): \(bodies)")
        }
        return out
    }

    /// Two replicas on one database with a 900 ms lease. Four times the leader is frozen (SIGSTOP)
    /// for three leases while the other replica takes over, fills the pool and serves claims; then
    /// thawed, it finds its lease gone and its late writes refused. At the end every claim has its
    /// invite, and the cloud holds exactly one project, volume, deployment and key per instance, one
    /// inbox and one number per claimed one, each runtime holding only its own agent's conversation.
    @Test func aFrozenLeaderWritesNothingWhenItWakes() async throws {
        let bin = try Self.binary()
        let url = try await TestDatabase.create(prefix: "f")
        let simPort = try freePort()
        try await Reaper.run { reaper in
            reaper.add(await Self.startSimulator(bin, port: simPort))
            let replicas = [Processes(bin: bin, databaseURL: url, simPort: simPort, port: try freePort()),
                            Processes(bin: bin, databaseURL: url, simPort: simPort, port: try freePort())]
            var pids: [Int32] = []
            for replica in replicas {
                pids.append(try await replica.startController())
                reaper.add(pids.last!)
        }
        let db = PostgresPool(url: url, size: 2)
        let first = TestHTTPClient(base: replicas[0].api)
        let specs = Specs.join(Specs.poolSized(4, max: 30), Specs.conciergeTemplate)
        #expect(try await first.send("POST", "/v1/apply", body: Data(specs.utf8), headers: ["Content-Type": "application/yaml"]).status == 200)

        var agents: [(agent: String, name: String)] = []
        var tokens: [Int] = []
        for round in 0..<4 {
            try await eventually("a leader", timeout: .seconds(30)) { try await Self.leader(db) != nil }
            let (frozen, token) = try #require(try await Self.leader(db))
            tokens.append(token)
            let other = replicas[pids.firstIndex(of: frozen) == 0 ? 1 : 0]
            #expect(await shell("kill -STOP \(frozen)") == 0)
            // The other replica takes the lease once it expires, and works while the leader sleeps.
            try await eventually("a new leader in round \(round)", timeout: .seconds(15)) {
                try await Self.leader(db).map { $0.token > token } ?? false
            }
            // A claim on the other replica while the leader sleeps (waiting for an idle instance if
            // none is ready yet: it binds when one is).
            // Each claim names its agent apart, so a runtime provisioned for another agent shows it.
            if let agent = try await Self.claim(TestHTTPClient(base: other.api), name: "Agent \(round)") { agents.append((agent, "Agent \(round)")) }
            try await eventually("the pool fills or a claim is configured", timeout: .seconds(20)) {
                try await db.query("SELECT 1 FROM pool.instances WHERE state IN ('idle', 'claimed') AND url IS NOT NULL").isEmpty == false
            }
            #expect(await shell("kill -CONT \(frozen)") == 0)
        }
        do {
            try await eventually("every claim answered with its invite", timeout: .seconds(60)) {
                try await Self.everyClaimAnswered(agents, db, sim: replicas[0].sim)
            }
        } catch {
            Issue.record("claims: \(try await Self.claims(agents, db, sim: replicas[0].sim))")
        }
        try await eventually("the pool refilled", timeout: .seconds(60)) {
            try await db.query("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'idle'").first!.decode("n", as: Int.self) == 4
        }
        // A create that left a frozen leader just before it froze is answered after the next
        // leader made the instance's: a second project of the name, which the next resync removes.
        let named = try await CrashTests().ledger(replicas[0]).filter { $0["kind"] as? String == "project" }.compactMap { $0["name"] as? String }
        let duplicates = named.count - Set(named).count
        do {
            try await eventually("ledger matches the database", timeout: .seconds(45)) { try await CrashTests().ledgerMatches(replicas[0], db) }
        } catch {
            Issue.record("ledger and database differ: \(try await CrashTests().difference(replicas[0], db))")
        }
        let doubleKeys = try await db.query("""
            SELECT count(*)::int AS n FROM (SELECT instance_id FROM services.bankr_keys WHERE state = 'assigned' GROUP BY 1 HAVING count(*) > 1) d
            """).first!.decode("n", as: Int.self)
        #expect(doubleKeys == 0, "no instance holds two Bankr keys")
        #expect(Set(tokens).count == tokens.count, "each freeze handed the lease to a new term: \(tokens)")
        var repeated = 0
        for (agent, _) in agents {
            guard let service: String = try await db.query("""
                SELECT s.railway_service_id FROM pool.instances i JOIN services.instances s USING (instance_id) WHERE i.agent = $1
                """, [agent]).first?.decode("railway_service_id") else { continue }
            let record = try await TestHTTPClient(base: replicas[0].sim).get("/_sim/runtime/\(service)").json()
            if (record["resets"] as? Int ?? 0) > 0 { repeated += 1 }
        }
        print("fencing: leader frozen past its lease 4 times; \(agents.count) claims on the other replica all answered, no runtime given "
              + "another agent, \(repeated) reset after a configure the freeze cut between the runtime's answer and its record; ledger matched")

        // Everything deleted: nothing is left at any provider.
        for (agent, _) in agents { _ = try await first.send("DELETE", "/v1/agents/\(agent)") }
        _ = try await first.send("POST", "/v1/apply", body: Data(Specs.poolSized(0).utf8), headers: ["Content-Type": "application/yaml"])
        do {
            try await eventually("everything torn down", timeout: .seconds(60)) {
                let rows = try await db.query("SELECT (SELECT count(*) FROM pool.instances)::int + (SELECT count(*) FROM pool.agents)::int AS n")
                    .first!.decode("n", as: Int.self)
                let left = try await CrashTests().ledger(replicas[0])
                return rows == 0 && left.isEmpty
            }
        } catch {
            Issue.record("left behind: \(try await CrashTests().difference(replicas[0], db))")
        }
        print("fencing: \(duplicates) second project(s) of a name, made by a frozen leader's request in flight, removed by the next resync")
        await db.close()
        }
    }

    /// SIGTERM while claims are being configured and tools provisioned: in-flight actions finish
    /// or are cancelled within the drain, and are awaited before the database closes, so the log
    /// shows no write refused by a closed pool; the next leader finishes what was cut short.
    @Test func sigtermDuringABurstCancelsActionsBeforeTheDatabaseCloses() async throws {
        let bin = try Self.binary()
        let url = try await TestDatabase.create(prefix: "t")
        let simPort = try freePort()
        try await Reaper.run { reaper in
            reaper.add(await Self.startSimulator(bin, port: simPort))
            let p = Processes(bin: bin, databaseURL: url, simPort: simPort, port: try freePort())
            let db = PostgresPool(url: url, size: 2)
            let log = "/tmp/convos-burst-\(p.port).log"
            let status = "/tmp/convos-burst-\(p.port).status"
            // Written aside and renamed: the test never reads the file the shell has just created empty.
            _ = await shell("(env \(p.environment) LOG_LEVEL=info DRAIN_TIMEOUT=1s \(bin) serve >\(log) 2>&1 & q=$!; echo $q > \(status).pid; wait $q; echo $? > \(status).tmp; mv \(status).tmp \(status)) >/dev/null 2>&1 &")
            let client = TestHTTPClient(base: p.api)
            try await eventually("ready", timeout: .seconds(60)) { (try? await client.get("/readyz").status) == 200 }
            let specs = Specs.join(Specs.poolSized(6, max: 30), Specs.conciergeTemplate)
            #expect(try await client.send("POST", "/v1/apply", body: Data(specs.utf8), headers: ["Content-Type": "application/yaml"]).status == 200)
            try await eventually("6 idle", timeout: .seconds(60)) {
                try await db.query("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'idle'").first!.decode("n", as: Int.self) == 6
        }
        var agents: [(agent: String, name: String)] = []
        for n in 0..<6 { if let agent = try await Self.claim(client, name: "Agent \(n)") { agents.append((agent, "Agent \(n)")) } }
        let pid = try String(contentsOfFile: status + ".pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        reaper.add(Int32(pid) ?? 0)
        #expect(await shell("kill -TERM \(pid)") == 0)
        try await eventually("exited", timeout: .seconds(30)) { FileManager.default.fileExists(atPath: status) }
        #expect(try String(contentsOfFile: status, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!text.contains("database pool closed"), "a write after the database closed:\n\(text.suffix(2000))")
        #expect(text.contains("stopped"), "the shutdown finished:\n\(text.suffix(2000))")

        // The next leader finishes every claim.
        let next = try await p.startController()
        reaper.add(next)
        try await eventually("every claim answered after the restart", timeout: .seconds(60)) {
            try await Self.everyClaimAnswered(agents, db, sim: p.sim)
        }
        do {
            try await eventually("ledger matches the database", timeout: .seconds(30)) { try await CrashTests().ledgerMatches(p, db) }
        } catch {
            Issue.record("ledger and database differ: \(try await CrashTests().difference(p, db))")
        }
        await db.close()
        for file in [log, status, status + ".pid"] { unlink(file) }
        }
    }

    /// Agents claimed and deleted while the controller is SIGKILLed at random moments, twenty
    /// times, with 10% of the cloud's answers lost: once all is deleted nothing is left at any
    /// provider, numbers included.
    @Test func killsWhileAgentsComeAndGoLeaveNothingBehind() async throws {
        let bin = try Self.binary()
        let url = try await TestDatabase.create(prefix: "g")
        let simPort = try freePort()
        try await Reaper.run { reaper in
            reaper.add(await Self.startSimulator(bin, port: simPort, lostResponses: 0.1))
            let p = Processes(bin: bin, databaseURL: url, simPort: simPort, port: try freePort())
            let db = PostgresPool(url: url, size: 2)
            var pid = try await p.startController()
            reaper.add(pid)
            let client = TestHTTPClient(base: p.api)
            let specs = Specs.join(Specs.poolSized(3, max: 30), Specs.conciergeTemplate)
            #expect(try await client.send("POST", "/v1/apply", body: Data(specs.utf8), headers: ["Content-Type": "application/yaml"]).status == 200)
            try await eventually("idle instances", timeout: .seconds(60)) {
                try await db.query("SELECT 1 FROM pool.instances WHERE state = 'idle'").isEmpty == false
        }
        var live: [String] = []
        let runs = Chaos.full ? 60 : 20
        for run in 0..<runs {
            if let agent = try? await Self.claim(client) { live.append(agent) }
            // Delete one made two runs ago: its tools are being made or are made.
            if live.count > 2 { _ = try? await client.send("DELETE", "/v1/agents/\(live.removeFirst())") }
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...700)))
            await p.kill(pid)
            pid = try await p.startController()
            reaper.add(pid)
            if run == runs - 1 {
                for agent in live { _ = try await client.send("DELETE", "/v1/agents/\(agent)") }
                _ = try await client.send("POST", "/v1/apply", body: Data(Specs.poolSized(0).utf8), headers: ["Content-Type": "application/yaml"])
            }
        }
        do {
            try await eventually("everything torn down", timeout: .seconds(90)) {
                let rows = try await db.query("SELECT (SELECT count(*) FROM pool.instances)::int + (SELECT count(*) FROM pool.agents)::int AS n")
                    .first!.decode("n", as: Int.self)
                let left = try await CrashTests().ledger(p)
                return rows == 0 && left.isEmpty
            }
        } catch {
            Issue.record("left behind: \(try await CrashTests().difference(p, db))")
        }
        print("chaos: \(runs) SIGKILLs while agents were claimed and deleted, 10% lost answers: nothing left at any provider")
        await db.close()
        }
    }
}
