import Foundation
import Testing
@testable import Controller
import Postgres
import TestSupport

/// The real binary's log: one JSON object per line, request ids on request lines, kind and name on
/// reconcile lines, and never a configured secret nor a minted key.
@Suite struct LogTests {
    @Test func logsAreJSONLinesWithIDsAndNoSecrets() async throws {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let simPort = try freePort(), port = try freePort()
        let sim = "http://127.0.0.1:\(simPort)"
        let secrets = ["tok-Sekr3t-api-token-xyz", "rw-Sekr3t-railway", "or-Sekr3t-management", "tx-Sekr3t-telnyx", "am-Sekr3t-agentmail",
                       "bk_Sekr3t_one", "bk_Sekr3t_two", "pgpw-Sekr3t"]
        let url = try await TestDatabase.create(prefix: "g")
        // The database password: give the role one, and connect with it.
        let admin = PostgresPool(url: url, size: 1)
        // Roles are cluster-wide: a name of this run's own.
        let role = "logtest_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await admin.query("CREATE ROLE \(role) LOGIN SUPERUSER PASSWORD 'pgpw-Sekr3t'")
        await admin.close()
        var withPassword = URLComponents(string: url)!
        withPassword.user = role
        withPassword.password = "pgpw-Sekr3t"
        let simPID = await shellOutput("\(bin) simulate --port \(simPort) --deploy-delay-ms 50 --order-delay-ms 0 >/dev/null 2>&1 & echo $!").output
        let log = "/tmp/convos-logtest-\(port).log"
        let env = [
            "DATABASE_URL='\(withPassword.string!)'", "PORT=\(port)", "BIND_ADDRESS=127.0.0.1", "LOG_LEVEL=debug", "RECONCILE_INTERVAL=200ms",
            "CONTROLLER_API_TOKEN=\(secrets[0])", "RAILWAY_API_URL=\(sim)/railway/graphql/v2", "RAILWAY_API_TOKEN=\(secrets[1])",
            "RAILWAY_WORKSPACE_ID=w", "GHCR_URL=\(sim)/ghcr", "OPENROUTER_API_URL=\(sim)/openrouter/api/v1", "OPENROUTER_PROVISIONING_KEY=\(secrets[2])",
            "TELNYX_API_URL=\(sim)/telnyx/v2", "TELNYX_API_KEY=\(secrets[3])", "AGENTMAIL_API_URL=\(sim)/agentmail", "AGENTMAIL_API_KEY=\(secrets[4])",
            "BANKR_API_URL=\(sim)/bankr", "BANKR_KEYS=\(secrets[5]),\(secrets[6])", "INSTANCE_URL_SCHEME=http",
        ].joined(separator: " ")
        let pid = await shellOutput("env \(env) \(bin) serve >\(log) 2>&1 & echo $!").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let client = TestHTTPClient(base: "http://127.0.0.1:\(port)")
        let auth = ["Authorization": "Bearer \(secrets[0])"]
        try await eventually("ready") { (try? await client.get("/readyz").status) == 200 }
        _ = try await client.get("/v1/pools", headers: ["Authorization": "Bearer wrong-\(secrets[0])"])
        let specs = Specs.join(ReconcilerTests.pool(1), ReconcilerTests.template, Specs.agent("logged", owner: "alice"))
        #expect(try await client.send("POST", "/v1/apply", body: Data(specs.utf8), headers: auth.merging(["Content-Type": "application/yaml", "X-Request-Id": "req-under-test"]) { a, _ in a }).status == 200)
        try await eventually("agent Ready") {
            let agent = try await client.get("/v1/agents/logged", headers: auth).json()
            return (agent["status"] as? [String: Any])?["phase"] as? String == "Ready"
        }
        await killAndWait(Int32(pid)!, signal: "TERM", seconds: 15)
        await killAndWait(Int32(simPID.trimmingCharacters(in: .whitespacesAndNewlines))!, signal: "TERM")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count > 10)
        var requestLines = 0, reconcileLines = 0
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object?["msg"] != nil && object?["level"] != nil && object?["time"] != nil, "not a log object: \(line)")
            if object?["msg"] == "request" { requestLines += 1; #expect(object?["requestId"]?.isEmpty == false) }
            if object?["component"] == "reconciler", object?["action"] != nil {
                reconcileLines += 1
                #expect(object?["kind"]?.isEmpty == false && object?["name"] != nil, "\(line)")
            }
        }
        #expect(requestLines > 0 && reconcileLines > 0)
        #expect(text.contains("\"requestId\":\"req-under-test\""))
        for secret in secrets { #expect(!text.contains(secret), "a configured secret reached the log") }
        #expect(!text.contains("sk-or-v1-"), "a minted OpenRouter key reached the log")
        unlink(log)
    }
}
