import Foundation
import Testing
import Postgres
import Simulator
import AppTestSupport
import TestSupport

/// An inbound email accepted while its runtime is down is delivered once it is back, though the
/// controller that accepted it was SIGKILLed meanwhile: the outbox is a table, not a memory queue.
/// The simulated cloud runs as its own process, so it outlives the kill.
@Suite struct InboundRestartTests {
    @Test func acceptedMailSurvivesAKilledControllerAndIsDeliveredOnce() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let p = CrashTests.Processes(bin: bin, databaseURL: try await TestDatabase.create(prefix: "ib"), simPort: try freePort(), port: try freePort())
        let simPID = Int32(await shellOutput("\(bin) simulate --port \(p.simPort) --deploy-delay-ms 100 --order-delay-ms 50 >/dev/null 2>&1 & echo $!")
            .output.trimmingCharacters(in: .whitespacesAndNewlines))!
        let start = { () async throws -> Int32 in
            let out = await shellOutput("env \(p.environment) AGENTMAIL_WEBHOOK_SECRET=\(Simulator.agentMailWebhookSecret) \(bin) serve >/tmp/convos-inbound-\(p.port).log 2>&1 & echo $!")
            let pid = Int32(out.output.trimmingCharacters(in: .whitespacesAndNewlines))!
            try await eventually("controller ready", timeout: .seconds(60)) { (try? await TestHTTPClient(base: p.api).get("/readyz").status) == 200 }
            return pid
        }
        var pid = try await start()
        let client = TestHTTPClient(base: p.api), sim = TestHTTPClient(base: p.sim)
        let db = PostgresPool(url: p.databaseURL, size: 2)
        _ = try await client.send("POST", "/v1/apply", body: Data(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate).utf8),
                                  headers: ["Content-Type": "application/yaml"])
        try await eventually("1 idle", timeout: .seconds(60)) {
            try await db.query("SELECT count(*)::int AS n FROM pool.instances WHERE state = 'idle'").first!.decode("n", as: Int.self) == 1
        }
        let claim = try await client.send("POST", "/api/pool/claim", body: Data(#"{"templateId":"concierge","ownerId":"u1"}"#.utf8),
                                          headers: ["Content-Type": "application/json"]).json()
        let agent = try #require(claim["agent"] as? String), instance = try #require(claim["instanceId"] as? String)
        try await eventually("Ready", timeout: .seconds(60)) {
            try await db.query("SELECT status->>'phase' AS p FROM pool.agents WHERE name = $1", [agent]).first?.decode("p", as: String?.self) == "Ready"
        }
        let row = try await db.query("""
            SELECT s.railway_service_id, t.external_id FROM services.instances s JOIN services.tool_resources t ON t.instance_id = s.instance_id AND t.tool = 'email'
            WHERE s.instance_id = $1
            """, [instance]).first!
        let service: String = try row.decode("railway_service_id"), inbox: String = try row.decode("external_id")
        func runtime(down: Bool) async throws {
            _ = try await sim.send("POST", "/_sim/runtime/\(service)", body: try JSONSerialization.data(withJSONObject: ["down": down]))
        }
        try await runtime(down: true)
        let sent = try await sim.send("POST", "/_sim/agentmail/inbound", body: try JSONSerialization.data(withJSONObject: [
            "inbox": inbox, "from": "ada@example.com", "subject": "While you were out", "text": "hi", "url": "\(p.api)/webhooks/agentmail"])).json()
        #expect(sent["webhookStatus"] as? Int == 200)
        try await eventually("tried while down") {
            try await db.query("SELECT count(*)::int AS n FROM services.inbound_events WHERE attempts >= 1 AND delivered_at IS NULL").first!
                .decode("n", as: Int.self) == 1
        }
        await killAndWait(pid, signal: "KILL")
        try await runtime(down: false)
        pid = try await start()
        try await eventually("delivered after the restart", timeout: .seconds(120)) {
            let record = try await sim.get("/_sim/runtime/\(service)").json()
            return (record["notifications"] as? [Any])?.count == 1
        }
        let texts = (try await sim.get("/_sim/runtime/\(service)").json()["notifications"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(texts.count == 1 && texts[0].contains("Subject: While you were out"), "once: \(texts)")
        await db.close()
        await killAndWait(pid, signal: "TERM", seconds: 15)
        await killAndWait(simPID, signal: "TERM")
    }
}
