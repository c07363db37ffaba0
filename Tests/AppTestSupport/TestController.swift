import Foundation
import Reconcile
import Telemetry
import App
import Postgres
import TestSupport
import Simulator
import Testing

/// A real controller on a fresh database and an ephemeral loopback port, started through the same
/// composition root as `serve`.
package struct TestController {
    package let controller: Controller
    package let client: TestHTTPClient
    package let databaseURL: String
    package var url: String { "http://127.0.0.1:\(controller.port)" }

    /// Fast loop settings for end-to-end tests: the same code, shorter waits.
    package static var fastReconciler: ReconcilerSettings {
        var s = ReconcilerSettings()
        s.interval = .milliseconds(100)
        s.renewEvery = .milliseconds(500)
        s.leaseDuration = .seconds(3)
        s.digestTTL = .milliseconds(200)
        s.planner.orphanGrace = 0.5
        s.maxBackoff = .seconds(1)
        s.failedRetry = .seconds(1)
        return s
    }

    /// A controller that serves the API only: for tests of the services layer, undisturbed by ticks.
    package static var noReconciler: ReconcilerSettings {
        var s = fastReconciler
        s.enabled = false
        return s
    }

    /// The end-to-end tests run on the seed-era runtime (`CONVOS_TEST_RUNTIME=seed`): it has no
    /// `/convos/*`, so what today's runtime is told there cannot be checked.
    package static var seedRuntime: Bool { ProcessInfo.processInfo.environment["CONVOS_TEST_RUNTIME"] == "seed" }

    /// The simulated cloud at test speed: the same steps as the realistic profile, in milliseconds.
    package static var fastCloud: SimulatorOptions {
        var options = SimulatorOptions()
        options.deployDelay = .milliseconds(50)
        options.healthDelay = .milliseconds(100)
        options.provisionDelay = .milliseconds(10)
        options.restartDelay = .milliseconds(50)
        options.orderDelay = .zero
        // `CONVOS_TEST_RUNTIME=seed` runs the end-to-end tests on the seed-era runtime (scripts/test does, for a part).
        if let runtime = ProcessInfo.processInfo.environment["CONVOS_TEST_RUNTIME"].flatMap(RuntimeGeneration.init(rawValue:)) { options.runtime = runtime }
        return options
    }

    package static func start(token: String? = nil, databaseURL: String? = nil, minIdle: Int? = nil, simulate: Bool = false,
                      reconciler: ReconcilerSettings = fastReconciler, cloud: SimulatorOptions = fastCloud,
                      configure: (inout ServeConfiguration) -> Void = { _ in }) async throws -> TestController {
        let url: String
        if let databaseURL { url = databaseURL } else { url = try await TestDatabase.create(prefix: "c") }
        var configuration = ServeConfiguration(databaseURL: url)
        configuration.port = 0
        configuration.bindAddress = "127.0.0.1"
        configuration.apiToken = token
        configuration.poolMinIdle = minIdle
        // Under URLSession's 60 s request timeout: a claim answers, invite or not, before a client gives up.
        configuration.claimWait = .seconds(20)
        // Tests see changes behind the controller's back (orphans, lost projects) within a second.
        configuration.resyncInterval = .seconds(1)
        // The claims' pool is opened at start (16 sessions by default); a few serve a test's claims,
        // and hundreds of controllers started by the suite do not each open sixteen.
        configuration.claimPoolSize = 4
        configure(&configuration)
        let options = cloud
        let controller = try await Controller.start(configuration, logger: Logger(level: ProcessInfo.processInfo.environment["TEST_LOG"] == "1" ? .info : .error, json: true),
                                                    simulate: simulate, simulatorOptions: options, reconcilerSettings: reconciler)
        return TestController(controller: controller, client: TestHTTPClient(port: controller.port), databaseURL: url)
    }

    /// Shuts the controller down; every long-lived task it owned has returned by then.
    package func stop() async {
        await controller.shutdown()
        #expect(controller.supervisor.children.isEmpty, "tasks left running after shutdown")
    }

    package func apply(_ yaml: String, dryRun: Bool = false, headers: [String: String] = [:]) async throws -> TestHTTPClient.Response {
        try await client.send("POST", "/v1/apply" + (dryRun ? "?dryRun=true" : ""), body: Data(yaml.utf8),
                              headers: ["Content-Type": "application/yaml"].merging(headers) { _, b in b })
    }

    /// Rows in the pool schema's tables, to prove a refused request changed nothing.
    package func rowCounts() async throws -> [String: Int] {
        let rows = try await controller.db.query("""
            SELECT (SELECT count(*) FROM pool.pools)::int AS pools, (SELECT count(*) FROM pool.agent_templates)::int AS templates,
                   (SELECT count(*) FROM pool.agents)::int AS agents,
                   (SELECT coalesce(max(resource_version), 0) FROM (SELECT resource_version FROM pool.pools UNION ALL
                    SELECT resource_version FROM pool.agent_templates UNION ALL SELECT resource_version FROM pool.agents) v)::int AS rv
            """)
        let r = rows.first!
        return ["pools": try r.decode("pools"), "templates": try r.decode("templates"), "agents": try r.decode("agents"), "rv": try r.decode("rv")]
    }
}

package enum Specs {
    /// A runtime image pinned by digest, for services tests that create instances directly.
    package static let digestImage = "ghcr.io/xmtplabs/convos-runtime@sha256:" + String(repeating: "a", count: 64)
    /// The default pool at a size of one's choosing.
    package static func poolSized(_ minIdle: Int, max: Int = 60) -> String {
        """
        apiVersion: agents.convos.org/v1
        kind: Pool
        metadata: {name: default}
        spec: {minIdle: \(minIdle), maxInstances: \(max), image: "ghcr.io/xmtplabs/convos-runtime:production"}
        """
    }
    /// The concierge template with every tool.
    package static let conciergeTemplate = """
        apiVersion: agents.convos.org/v1
        kind: AgentTemplate
        metadata: {name: concierge}
        spec:
          agentName: Concierge
          instructions: Plan the week.
          model: {default: anthropic/claude-sonnet-4}
          visibility: public
          tools: [{id: email}, {id: sms, options: {country: US}}, {id: crypto}]
          openrouter: {limitUsd: 10}
        """
    package static let pool = """
        apiVersion: agents.convos.org/v1
        kind: Pool
        metadata: {name: default}
        spec: {minIdle: 3, maxInstances: 50, image: "ghcr.io/xmtplabs/convos-runtime:production"}
        """
    package static func template(_ name: String = "concierge", model: String = "anthropic/claude-sonnet-4", labels: String = "{}",
                         visibility: String = "public") -> String {
        """
        apiVersion: agents.convos.org/v1
        kind: AgentTemplate
        metadata: {name: \(name), labels: \(labels)}
        spec:
          agentName: Concierge
          instructions: Plan the week.
          model: {default: \(model)}
          visibility: \(visibility)
          tools: [{id: email}]
          openrouter: {limitUsd: 10}
        """
    }
    package static func agent(_ name: String, template: String = "concierge", owner: String = "user_1", cloneFrom: String? = nil) -> String {
        """
        apiVersion: agents.convos.org/v1
        kind: Agent
        metadata: {name: \(name)}
        spec: {template: \(template), owner: \(owner)\(cloneFrom.map { ", cloneFrom: \($0)" } ?? "")}
        """
    }
    package static func join(_ docs: String...) -> String { docs.joined(separator: "\n---\n") }
}

extension TestHTTPClient.Response {
    package var results: [[String: Any]] { ((try? json())?["results"] as? [[String: Any]]) ?? [] }
    package var actions: [String] { results.map { "\(($0["kind"] as? String ?? "").lowercased())/\($0["name"] as? String ?? "") \($0["action"] as? String ?? "")" } }
    package var errorBody: [String: Any] { ((try? json())?["error"] as? [String: Any]) ?? [:] }
    package var detailPaths: [String] { ((errorBody["details"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String } }
}

/// Waits until `condition` holds, checking every 50 ms, or fails after `timeout`. For convergence,
/// which happens in the background: the test waits for the state, never for a fixed time.
package func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestEnvironmentError("timed out after \(timeout) waiting for: \(what)")
}

extension TestController {
    package func count(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> Int {
        try await controller.db.query(sql, parameters).first!.decode("n", as: Int.self)
    }
    package func idle(_ pool: String = "default") async throws -> Int {
        try await count("SELECT count(*)::int AS n FROM pool.instances WHERE pool = $1 AND state = 'idle'", [pool])
    }
    package func phase(_ agent: String) async throws -> String? {
        try await controller.db.query("SELECT status->>'phase' AS p FROM pool.agents WHERE name = $1", [agent]).first?.decode("p")
    }
    package func claim(_ template: String?, owner: String?, cloneFrom: String? = nil, wait: Double? = nil, extra: [String: Any] = [:],
               headers: [String: String] = [:]) async throws -> TestHTTPClient.Response {
        var body: [String: Any] = extra
        body["templateId"] = template
        body["ownerId"] = owner
        body["cloneFrom"] = cloneFrom
        let path = "/api/pool/claim" + (wait.map { "?wait=\($0)" } ?? "")
        return try await client.send("POST", path, body: try JSONSerialization.data(withJSONObject: body),
                                     headers: ["Content-Type": "application/json"].merging(headers) { _, b in b })
    }

    /// What the simulated runtime of `instance` was sent (provisions, restarts, bearers, variables).
    package func runtimeRecord(_ instance: String) async throws -> [String: Any] {
        let service: String = try await controller.db.query("SELECT railway_service_id FROM services.instances WHERE instance_id = $1", [instance])
            .first!.decode("railway_service_id")
        return try await TestHTTPClient(base: controller.simulator!.baseURL).get("/_sim/runtime/\(service)").json()
    }
}

extension TestController {
    /// The real binary (`CONVOS_CONTROLLER_BIN`) run against this controller, from the repository's root.
    package func cli(_ arguments: String, token: String? = nil) async throws -> (status: Int32, output: String) {
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else {
            throw TestEnvironmentError("CONVOS_CONTROLLER_BIN is not set: run the suite with `bash scripts/test`")
        }
        let env = "CONTROLLER_URL=\(url)" + (token.map { " CONTROLLER_API_TOKEN=\($0)" } ?? "")
        return await shellOutput("cd \(Repo.root) && \(env) \(bin) \(arguments)", mergeErrors: true)
    }
}

extension TestController {
    /// The instance's one runtime secret, its `GATEWAY_TOKEN`.
    package func gatewayToken(_ instance: String) async throws -> String {
        try await controller.db.query("SELECT runtime_key FROM services.instances WHERE instance_id = $1", [instance]).first!.decode("runtime_key")
    }

    /// Sets what the simulated runtime of `instance` holds (`{"conversationId"}`), as a test's fault.
    package func setRuntime(_ instance: String, _ body: [String: Any]) async throws {
        let service: String = try await controller.db.query("SELECT railway_service_id FROM services.instances WHERE instance_id = $1", [instance])
            .first!.decode("railway_service_id")
        _ = try await TestHTTPClient(base: controller.simulator!.baseURL).send("POST", "/_sim/runtime/\(service)",
                                                                                body: try JSONSerialization.data(withJSONObject: body))
    }

    /// A runtime's self-service call: `POST /api/pool/ROUTE` with `{instanceId, gatewayToken, ...}`.
    package func selfService(_ route: String, instance: String, token: String, _ extra: [String: Any] = [:]) async throws -> TestHTTPClient.Response {
        var body = extra
        body["instanceId"] = instance
        body["gatewayToken"] = token
        return try await client.send("POST", "/api/pool/\(route)", body: try JSONSerialization.data(withJSONObject: body),
                                     headers: ["Content-Type": "application/json"])
    }

    /// The agent's condition of `type`.
    package func condition(_ agent: String, _ type: String) async throws -> [String: Any]? {
        guard let text: String = try await controller.db.query("SELECT status::text AS s FROM pool.agents WHERE name = $1", [agent]).first?.decode("s"),
              let status = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        return (status["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == type }
    }
}
