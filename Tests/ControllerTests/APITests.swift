import Foundation
import Testing
@testable import Controller
import TestSupport

@Suite struct APITests {
    @Test func tokenIsRequiredExceptOnPublicRoutes() async throws {
        let t = try await TestController.start(token: "s3cret-token")
        #expect(try await t.client.get("/v1/pools").status == 401)
        #expect(try await t.client.get("/v1/pools", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try await t.client.get("/v1/pools", headers: ["Authorization": "Bearer s3cret-token-longer"]).status == 401)
        let ok = try await t.client.get("/v1/pools", headers: ["Authorization": "Bearer s3cret-token"])
        #expect(ok.status == 200)
        #expect(try await t.client.get("/healthz").status == 200)
        #expect(try await t.client.get("/readyz").status == 200)
        let denied = try await t.client.get("/api/pool/templates")
        #expect(denied.errorBody["code"] as? String == "Unauthorized")
        await t.stop()
    }

    @Test func statusCodesOfTheContract() async throws {
        let t = try await TestController.start()
        #expect(try await t.client.get("/v1/nothing").status == 404)
        #expect(try await t.client.get("/v1/pools/absent").status == 404)
        #expect(try await t.client.send("PUT", "/v1/apply").status == 405)
        let media = try await t.client.send("POST", "/v1/apply", body: Data("x".utf8), headers: ["Content-Type": "text/html"])
        #expect(media.status == 415)
        let big = Data(repeating: UInt8(ascii: "#"), count: (1 << 20) + 10)
        let tooLarge = try await t.client.send("POST", "/v1/apply", body: big, headers: ["Content-Type": "application/yaml"])
        #expect(tooLarge.status == 413)
        #expect(try await t.rowCounts() == ["pools": 0, "templates": 0, "agents": 0, "rv": 0])
        await t.stop()
    }

    @Test func listGetAndDelete() async throws {
        let t = try await TestController.start()
        _ = try await t.apply(Specs.join(Specs.pool, Specs.template(), Specs.agent("a1")))
        let list = try await t.client.get("/v1/agents").json()
        #expect(list["kind"] as? String == "AgentList")
        #expect((list["items"] as? [[String: Any]])?.count == 1)
        let agent = try await t.client.get("/v1/agents/a1").json()
        #expect((agent["status"] as? [String: Any])?["phase"] as? String == "Pending")

        #expect(try await t.client.send("DELETE", "/v1/agenttemplates/concierge").status == 409)
        let deleting = try await t.client.send("DELETE", "/v1/agents/a1")
        #expect(deleting.status == 202)
        #expect(((try deleting.json())["status"] as? [String: Any])?["phase"] as? String == "Terminating")
        // A Terminating agent takes no changes.
        #expect(try await t.apply(Specs.agent("a1")).status == 409)
        #expect(try await t.client.send("DELETE", "/v1/pools/default").status == 200)
        #expect(try await t.client.get("/v1/pools/default").status == 404)
        #expect(try await t.client.send("DELETE", "/v1/pools/default").status == 404)
        #expect((try await t.client.get("/v1/instances").json()["items"] as? [Any])?.isEmpty == true)
        await t.stop()
    }

    @Test func templateCRUDInTheSeedShape() async throws {
        let t = try await TestController.start()
        let body = #"{"id":"concierge","displayName":"Concierge","model":"anthropic/claude-sonnet-4","instructions":"Plan.","tools":{"openrouter":{"creditLimitUsd":10}}}"#
        let created = try await t.client.send("POST", "/api/pool/templates", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
        #expect(created.status == 201)
        #expect(try created.json()["generation"] as? Int == 1)
        #expect(try await t.client.send("POST", "/api/pool/templates", body: Data(body.utf8), headers: ["Content-Type": "application/json"]).status == 409)

        let update = body.replacingOccurrences(of: "Plan.", with: "Plan better.")
        let put = try await t.client.send("PUT", "/api/pool/templates/concierge", body: Data(update.utf8))
        #expect(put.status == 200)
        #expect(try put.json()["generation"] as? Int == 2)
        let same = try await t.client.send("PUT", "/api/pool/templates/concierge", body: Data(update.utf8))
        #expect(try same.json()["generation"] as? Int == 2)

        let invalid = try await t.client.send("PUT", "/api/pool/templates/concierge",
                                              body: Data(#"{"model":"nope","tools":{"fax":{}}}"#.utf8))
        #expect(invalid.status == 400)
        #expect(Set(invalid.detailPaths) == ["model", "tools.fax"])
        #expect(try await t.client.get("/api/pool/templates/concierge").json()["instructions"] as? String == "Plan better.")

        #expect(try await t.client.send("PUT", "/api/pool/templates/absent", body: Data(update.utf8)).status == 400)
        #expect(try await t.client.send("PUT", "/api/pool/templates/absent", body: Data(#"{"model":"a/b"}"#.utf8)).status == 404)
        let list = try await t.client.get("/api/pool/templates").json()
        #expect((list["templates"] as? [Any])?.count == 1)
        #expect(try await t.client.send("DELETE", "/api/pool/templates/concierge").status == 200)
        #expect(try await t.client.get("/api/pool/templates/concierge").status == 404)
        await t.stop()
    }

    @Test func poolMinIdleCreatesTheDefaultPoolOnce() async throws {
        let t = try await TestController.start(minIdle: 2)
        let pool = try await t.client.get("/v1/pools/default").json()
        #expect((pool["spec"] as? [String: Any])?["minIdle"] as? Int == 2)
        await t.stop()
        // A second start with a different value leaves the existing pool alone.
        let again = try await TestController.start(databaseURL: t.databaseURL, minIdle: 7)
        #expect(((try await again.client.get("/v1/pools/default").json())["spec"] as? [String: Any])?["minIdle"] as? Int == 2)
        await again.stop()
    }

    @Test func databaseDownIs503ThenRecovers() async throws {
        let cluster = try await TemporaryCluster()
        let t = try await TestController.start(databaseURL: cluster.url)
        _ = try await t.apply(Specs.pool)
        try await cluster.stop()
        let down = try await t.client.get("/v1/pools")
        #expect(down.status == 503)
        #expect(try await t.client.get("/readyz").status == 503)
        try await cluster.start()
        // The first request after the restart may still see the old connection fail; the pool recovers.
        var status = try await t.client.get("/v1/pools").status
        if status == 503 { status = try await t.client.get("/v1/pools").status }
        #expect(status == 200)
        await t.stop()
        await cluster.destroy()
    }
}
