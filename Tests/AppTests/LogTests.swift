import Foundation
import Testing
import Postgres
import Resources
import AppTestSupport
import TestSupport

/// The real binary's log: one JSON object per line, request ids on request lines, kind and name on
/// reconcile lines, and never a configured secret, a minted key, a runtime's secrets or a claim's
/// `userConfig`; those reach no GET, event or status either. And a healthy start logs no failure.
@Suite struct LogTests {
    /// An Ed25519 key in PKCS#8 PEM (RFC 8032's first test seed).
    static let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----"

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
            "ATTESTATION_PRIVATE_KEY_PEM='\(Self.pem.replacingOccurrences(of: "\n", with: "\\n"))'", "ATTESTATION_KID=log-kid",
        ].joined(separator: " ")
        let pid = await shellOutput("env \(env) \(bin) serve >\(log) 2>&1 & echo $!").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let client = TestHTTPClient(base: "http://127.0.0.1:\(port)")
        let auth = ["Authorization": "Bearer \(secrets[0])"]
        try await eventually("ready") { (try? await client.get("/readyz").status) == 200 }
        _ = try await client.get("/v1/pools", headers: ["Authorization": "Bearer wrong-\(secrets[0])"])
        let specs = Specs.join(Specs.poolSized(1), Specs.conciergeTemplate, Specs.agent("logged", owner: "alice"))
        #expect(try await client.send("POST", "/v1/apply", body: Data(specs.utf8), headers: auth.merging(["Content-Type": "application/yaml", "X-Request-Id": "req-under-test"]) { a, _ in a }).status == 200)
        try await eventually("agent Ready") {
            let agent = try await client.get("/v1/agents/logged", headers: auth).json()
            return (agent["status"] as? [String: Any])?["phase"] as? String == "Ready"
        }
        // A claim that brings its own Bankr key, and a refused one that brings a stray value.
        let byo = """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: byo}
            spec: {agentName: B, instructions: Bring your own., tools: [{id: crypto, provisioning: user}]}
            """
        _ = try await client.send("POST", "/v1/apply", body: Data(Specs.join(Specs.poolSized(2), byo).utf8),
                                  headers: auth.merging(["Content-Type": "application/yaml"]) { a, _ in a })
        let userSecret = "bk_users_Sekr3t_key_7d1f", strayValue = "stray-Sekr3t-value"
        let json = auth.merging(["Content-Type": "application/json"]) { a, _ in a }
        let refused = try await client.send("POST", "/api/pool/claim", body: Data(#"{"templateId":"byo","userConfig":{"bankrApiKey":"\#(userSecret)","telnyxApiKey":"\#(strayValue)"}}"#.utf8), headers: json)
        #expect(refused.status == 400 && refused.detailPaths == ["userConfig.telnyxApiKey"])
        #expect(!refused.text.contains(userSecret) && !refused.text.contains(strayValue), "an error echoed a userConfig value")
        let missing = try await client.send("POST", "/api/pool/claim", body: Data(#"{"templateId":"byo","userConfig":{}}"#.utf8), headers: json)
        #expect(missing.status == 400 && missing.detailPaths == ["userConfig.bankrApiKey"])
        try await eventually("an idle instance for the claim") {
            ((try await client.get("/api/pool/counts").json())["idle"] as? Int ?? 0) >= 1
        }
        let claimed = try await client.send("POST", "/api/pool/claim", body: Data(#"{"templateId":"byo","userConfig":{"bankrApiKey":"\#(userSecret)"}}"#.utf8), headers: json)
        #expect(claimed.status == 200)
        let byoAgent = try #require(try claimed.json()["agent"] as? String)
        try await eventually("the byo agent Ready") {
            let agent = try await client.get("/v1/agents/\(byoAgent)", headers: auth).json()
            return (agent["status"] as? [String: Any])?["phase"] as? String == "Ready"
        }
        let store = PostgresPool(url: url, size: 1)
        // The runtime's own calls (issue 23): every self-service route, a coupon, a wrong token.
        let couponCode = "COUPON-Sekr3t-2026"
        _ = try await client.send("POST", "/v1/apply", body: Data("""
            apiVersion: agents.convos.org/v1
            kind: Coupon
            metadata: {name: logged-coupon}
            spec: {code: \(couponCode), incrementUsd: 5, maxUsd: 100}
            """.utf8), headers: auth.merging(["Content-Type": "application/yaml"]) { a, _ in a })
        let loggedInstance: String = try await store.query("SELECT instance_id FROM pool.instances WHERE agent = 'logged'").first!.decode("instance_id")
        let token: String = try await store.query("SELECT runtime_key FROM services.instances WHERE instance_id = $1", [loggedInstance]).first!.decode("runtime_key")
        let service: String = try await store.query("SELECT railway_service_id FROM services.instances WHERE instance_id = $1", [loggedInstance])
            .first!.decode("railway_service_id")
        let inbox = try await TestHTTPClient(base: sim).send("GET", "/runtime/\(service)/convos/status", headers: ["Authorization": "Bearer \(token)"])
            .json()["inboxId"] as? String ?? ""
        func call(_ route: String, _ extra: [String: Any] = [:], token: String) async throws -> Int {
            var body = extra
            body["instanceId"] = loggedInstance
            body["gatewayToken"] = token
            let answer = try await client.send("POST", "/api/pool/\(route)", body: try JSONSerialization.data(withJSONObject: body),
                                               headers: ["Content-Type": "application/json"])
            #expect(!answer.text.contains(token) && !answer.text.contains(couponCode), "\(route) echoed a secret")
            return answer.status
        }
        #expect(try await call("self-info", token: token) == 200)
        #expect(try await call("credits-check", token: token) == 200)
        #expect(try await call("credits-topup", token: token) == 200)
        #expect(try await call("redeem-coupon", ["code": couponCode], token: token) == 200)
        #expect(try await call("attest", ["inboxId": inbox], token: token) == 200)
        #expect(try await call("pending-acceptance/fail", token: token) == 409)
        #expect(try await call("self-info", token: token + "x") == 403)
        let couponSecrets = [couponCode, CouponSpec.hash(couponCode)]
        for path in ["/v1/coupons", "/v1/coupons/logged-coupon", "/v1/events", "/apis/agents.convos.org/v1/coupons", "/.well-known/agents.json"] {
            let text = try await client.get(path, headers: auth).text
            for secret in couponSecrets + [token] { #expect(!text.contains(secret), "GET \(path) shows a secret") }
        }
        let events: String = try await store.query("SELECT string_agg(e::text, ',') AS v FROM pool.events e").first!.decode("v")
        for secret in couponSecrets + [token] { #expect(!events.contains(secret), "an event holds a secret") }
        #expect(events.contains("CouponRedeemed") && events.contains("CreditsToppedUp") && events.contains("Attested"))
        let runtimeSecrets = try await store.query("""
            SELECT runtime_key, services_token, gateway_token, setup_password, wallet_key FROM services.instances WHERE runtime_key IS NOT NULL
            """).rows.flatMap { row in try ["runtime_key", "services_token", "gateway_token", "setup_password", "wallet_key"].map { try row.decode($0, as: String.self) } }
        #expect(runtimeSecrets.count >= 10)
        // The user's key reached the runtime, and nothing the pool side shows.
        let runtimeEnv: String = try await store.query("SELECT string_agg(value, ',') AS v FROM services.runtime_env").first!.decode("v")
        #expect(runtimeEnv.contains(userSecret))
        let poolSide: String = try await store.query("""
            SELECT concat_ws('|', (SELECT string_agg(a::text, ',') FROM pool.agents a), (SELECT string_agg(i::text, ',') FROM pool.instances i),
                             (SELECT string_agg(e::text, ',') FROM pool.events e), (SELECT string_agg(t::text, ',') FROM pool.agent_templates t)) AS v
            """).first!.decode("v")
        for path in ["/v1/agents", "/v1/agents/\(byoAgent)", "/v1/instances", "/v1/agenttemplates", "/v1/pools", "/api/pool/agents",
                     "/api/pool/counts", "/api/pool/templates", "/status", "/metrics", "/", "/registry"] {
            let text = try await client.get(path, headers: auth).text
            for secret in [userSecret] + runtimeSecrets { #expect(!text.contains(secret), "GET \(path) shows a secret") }
        }
        for secret in [userSecret] + runtimeSecrets { #expect(!poolSide.contains(secret), "the pool schema holds a secret") }
        await store.close()
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
        // A healthy start fails nothing: no action failed, no tick failed, nothing at error level
        // (a stale tick's bind once logged a unique-constraint failure here).
        let failures = lines.filter { $0.contains("\"msg\":\"action failed\"") || $0.contains("\"msg\":\"tick failed\"") || $0.contains("\"level\":\"error\"") }
        #expect(failures.isEmpty, "a healthy start logged failures: \(failures.prefix(3))")
        #expect(text.contains("\"requestId\":\"req-under-test\""))
        for secret in secrets { #expect(!text.contains(secret), "a configured secret reached the log") }
        for secret in runtimeSecrets { #expect(!text.contains(secret), "a runtime's secret reached the log") }
        #expect(!text.contains(userSecret) && !text.contains(strayValue), "a userConfig value reached the log")
        #expect(!text.contains("sk-or-v1-"), "a minted OpenRouter key reached the log")
        for secret in couponSecrets { #expect(!text.contains(secret), "a coupon's code reached the log") }
        #expect(!text.contains(String(Self.pem.split(separator: "\n")[1])), "the attestation key reached the log")
        unlink(log)
    }
}
