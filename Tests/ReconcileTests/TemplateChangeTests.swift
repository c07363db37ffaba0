import Foundation
import Testing
import AppTestSupport
import Providers
import Resources

/// A template's tool changes reach every agent made from it: the key's limit with OpenRouter's
/// update, a removed tool released, an added one provisioned; `agentsSynced` counts only agents
/// that match the template in all of it.
@Suite struct TemplateChangeTests {
    /// The suite's concierge template with other tools and another key limit.
    static func template(tools: String, limit: Int) -> String {
        Specs.conciergeTemplate
            .replacingOccurrences(of: "tools: [{id: email}, {id: sms, options: {country: US}}, {id: crypto}]", with: "tools: [\(tools)]")
            .replacingOccurrences(of: "openrouter: {limitUsd: 10}", with: "openrouter: {limitUsd: \(limit)}")
    }
    static let agents = ["a1", "a2", "a3"]

    static func synced(_ t: TestController) async throws -> (agents: Int?, synced: Int?) {
        let status = try await t.client.get("/v1/agenttemplates/concierge").json()["status"] as? [String: Any]
        return (status?["agents"] as? Int, status?["agentsSynced"] as? Int)
    }

    static func start() async throws -> TestController {
        let t = try await TestController.start(simulate: true)
        let agents = agents.map { Specs.agent($0) }.joined(separator: "\n---\n")
        _ = try await t.apply(Specs.join(Specs.poolSized(1), template(tools: "{id: email}, {id: sms, options: {country: US}}", limit: 10), agents))
        // Three agents with every tool, while the whole suite competes for two cores: a minute.
        try await eventually("all Ready", timeout: .seconds(60)) { try await Self.agents.asyncAllSatisfy { try await t.phase($0) == "Ready" } }
        try await eventually("all synced") { try await synced(t) == (3, 3) }
        return t
    }

    func instances(_ t: TestController) async throws -> [String] {
        try await t.controller.db.query("SELECT instance_id FROM pool.instances WHERE agent IS NOT NULL ORDER BY agent").rows.map { try $0.decode("instance_id") }
    }

    @Test func aLimitChangeReachesEveryKey() async throws {
        let t = try await Self.start()
        _ = try await t.apply(Self.template(tools: "{id: email}, {id: sms, options: {country: US}}", limit: 25))
        let openRouter = t.controller.providers.openRouter
        for instance in try await instances(t) {
            try await eventually("the key of \(instance) at 25 USD") {
                try await openRouter.observe(name: externalName(instanceID: instance))?.config["limitUsd"] == "25"
            }
        }
        try await eventually("all synced again") { try await Self.synced(t) == (3, 3) }
        await t.stop()
    }

    @Test func removingSmsReleasesEveryAgentsNumberAndAddingItBackProvisionsOne() async throws {
        let t = try await Self.start()
        let instances = try await instances(t)
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state = 'assigned'") == 3)

        _ = try await t.apply(Self.template(tools: "{id: email}", limit: 10))
        try await eventually("every number given back") {
            try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state = 'available'") == 3
        }
        for instance in instances where !TestController.seedRuntime {
            // The running agent is told: its profile's phone is blank (no variable: it reached the
            // number through the services proxy).
            try await eventually("\(instance)'s runtime told its phone is gone") {
                let metadata = try await t.runtimeRecord(instance)["metadata"] as? [[String: Any]] ?? []
                return metadata.contains { ($0["metadata"] as? [String: String])?["phone"] == "" }
            }
        }
        try await eventually("all synced without sms") { try await Self.synced(t) == (3, 3) }
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE reason = 'ToolReleased'") == 3)
        // Ready throughout: nothing restarted to take the number away.
        try await eventually("all Ready without sms") { try await Self.agents.asyncAllSatisfy { try await t.phase($0) == "Ready" } }

        // Added back: provisioned for every agent again, from the numbers given back.
        _ = try await t.apply(Self.template(tools: "{id: email}, {id: sms, options: {country: US}}", limit: 10))
        try await eventually("every agent holds a number again") {
            try await t.count("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state = 'assigned'") == 3
        }
        try await eventually("all synced with sms") { try await Self.synced(t) == (3, 3) }
        #expect(await t.controller.simulator!.events().filter { $0.provider == "telnyx" && $0.action == "create" }.count == 3,
                "the numbers given back were reused, none bought")
        await t.stop()
    }
}
