import Foundation
import Testing
import Postgres
import Providers
import Services
import AppTestSupport
import TestSupport

/// No account-wide secret in any runtime (issue 24): an instance made before this version that
/// still holds provider keys, the pool's admin key or a controller token loses them at the next
/// resync, in one redeploy, and its agent keeps its conversation.
@Suite struct VariablePruningTests {
    @Test func oldInstancesLoseWhatTheContractDoesNotList() async throws {
        let t = try await TestController.start(token: "ctl-token", simulate: true) { c in c.poolAPIKey = "pool-admin-key" }
        let auth = ["Authorization": "Bearer ctl-token"]
        _ = try await t.apply(Specs.join("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: default}
            spec: {minIdle: 1, maxInstances: 5, image: "ghcr.io/xmtplabs/convos-runtime:production", env: {DEFAULT_AGENT_NAME: Helper}}
            """, Specs.template()), headers: auth)
        try await eventually("1 idle") { try await t.idle() == 1 }
        let body = try await t.claim("concierge", owner: "u1", headers: auth).json()
        let agent = try #require(body["agent"] as? String), instance = try #require(body["instanceId"] as? String)
        let conversation = try #require(body["conversationId"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }

        // An instance of an older version: account-wide keys, the pool's admin key, a controller token.
        let services = try #require(t.controller.services as? InProcessServices)
        let project = try await services.project(instance)
        try await t.controller.providers.railway.storeVariables(project, [
            "AGENTMAIL_API_KEY": "am-account-key", "TELNYX_API_KEY": "tx-account-key", "_DEPLOY_TS": "1",
            "POOL_API_KEY": "pool-admin-key", "DEFAULT_AGENT_NAME": "ctl-token",
        ])
        _ = try await t.controller.db.query("UPDATE services.instances SET variables_checked_at = NULL WHERE instance_id = $1", [instance])
        let deployments = try await t.runtimeRecord(instance)["deployments"] as? Int ?? 0

        try await eventually("pruned at a resync") {
            try await t.count("SELECT count(*)::int AS n FROM services.instances WHERE instance_id = $1 AND variables_checked_at IS NOT NULL", [instance]) == 1
        }
        let stored = try await t.controller.providers.railway.variables(project)
        for name in ["AGENTMAIL_API_KEY", "TELNYX_API_KEY", "_DEPLOY_TS", "DEFAULT_AGENT_NAME"] { #expect(stored[name] == nil, "\(name) left") }
        #expect(stored["POOL_API_KEY"] == (try await t.gatewayToken(instance)), "the pool's key replaced by the runtime's own")
        #expect(!stored.values.contains("ctl-token") && !stored.values.contains("pool-admin-key"))
        #expect(stored["GATEWAY_TOKEN"] != nil && stored["INSTANCE_ID"] == instance, "the contract's variables kept")
        #expect(try await t.runtimeRecord(instance)["deployments"] as? Int == deployments + 1, "one redeploy")
        // The event is written after the services mark the instance checked (a write of its own).
        try await eventually("the VariablesRemoved event") {
            try await t.count("SELECT count(*)::int AS n FROM pool.events WHERE name = $1 AND reason = 'VariablesRemoved'", [instance]) == 1
        }
        let event = try await t.controller.db.query("SELECT message FROM pool.events WHERE name = $1 AND reason = 'VariablesRemoved'", [instance]).first
        let message = try #require(try event?.decode("message", as: String.self))
        #expect(message.contains("AGENTMAIL_API_KEY") && !message.contains("am-account-key"), "names, never values")
        try await eventually("Ready again, the same conversation") {
            let status = try await t.client.get("/v1/agents/\(agent)", headers: auth).json()["status"] as? [String: Any]
            return status?["phase"] as? String == "Ready" && status?["conversationId"] as? String == conversation
        }
        await t.stop()
    }
}
