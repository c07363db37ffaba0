import Foundation
import Testing
import AppTestSupport
import TestSupport

@Suite struct ApplyTests {
    @Test func createdThenConfiguredThenUnchanged() async throws {
        let t = try await TestController.start()
        let first = try await t.apply(Specs.join(Specs.pool, Specs.template(), Specs.agent("a1")))
        #expect(first.status == 200)
        #expect(first.actions == ["pool/default created", "agenttemplate/concierge created", "agent/a1 created"])

        let changed = try await t.apply(Specs.template(model: "openai/gpt-4o"))
        #expect(changed.actions == ["agenttemplate/concierge configured"])
        #expect(changed.results.first?["generation"] as? Int == 2)

        let same = try await t.apply(Specs.template(model: "openai/gpt-4o"))
        #expect(same.actions == ["agenttemplate/concierge unchanged"])
        #expect(same.results.first?["generation"] as? Int == 2)

        // Labels are metadata: a new resourceVersion, the same generation.
        let before = try await t.client.get("/v1/agenttemplates/concierge").json()["metadata"] as! [String: Any]
        let relabeled = try await t.apply(Specs.template(model: "openai/gpt-4o", labels: "{team: core}"))
        #expect(relabeled.actions == ["agenttemplate/concierge configured"])
        let after = try await t.client.get("/v1/agenttemplates/concierge").json()["metadata"] as! [String: Any]
        #expect(after["generation"] as? Int == 2)
        #expect(after["resourceVersion"] as? String != before["resourceVersion"] as? String)
        #expect((after["labels"] as? [String: String]) == ["team": "core"])
        await t.stop()
    }

    @Test func batchWithOneInvalidDocumentChangesNothing() async throws {
        let t = try await TestController.start()
        let bad = Specs.join(Specs.pool, Specs.template(), """
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: broken}
            spec: {template: concierge, owner: u, colour: red}
            """)
        let r = try await t.apply(bad)
        #expect(r.status == 400)
        #expect(r.detailPaths == ["spec.colour"])
        #expect((r.errorBody["message"] as? String)?.contains("agent/broken: spec.colour: unknown field (line 20") == true)
        #expect(try await t.rowCounts() == ["pools": 0, "templates": 0, "agents": 0, "rv": 0])
        await t.stop()
    }

    @Test func batchRefusedByTheDatabaseRollsBackEarlierObjects() async throws {
        let t = try await TestController.start()
        // The template exists nowhere: the agent is refused after the pool was written in the same transaction.
        let r = try await t.apply(Specs.join(Specs.pool, Specs.agent("a1", template: "missing")))
        #expect(r.status == 422)
        #expect(r.detailPaths == ["spec.template"])
        #expect(try await t.rowCounts() == ["pools": 0, "templates": 0, "agents": 0, "rv": 0])
        await t.stop()
    }

    /// Found by the apply fuzzer: moving a stored agent to a template that does not exist was a 500.
    @Test func agentMovedToAMissingTemplateIs422AndChangesNothing() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        #expect(try await t.apply(Specs.join(Specs.template(), Specs.agent("a1"))).status == 200)
        let before = try await t.rowCounts()
        let r = try await t.apply(Specs.agent("a1", template: "missing"))
        #expect(r.status == 422)
        #expect(r.detailPaths == ["spec.template"])
        #expect(try await t.rowCounts() == before)
        await t.stop()
    }

    @Test func dryRunReportsButWritesNothing() async throws {
        let t = try await TestController.start()
        let r = try await t.apply(Specs.join(Specs.pool, Specs.template()), dryRun: true)
        #expect(r.status == 200)
        #expect(r.actions == ["pool/default created", "agenttemplate/concierge created"])
        #expect(try await t.rowCounts() == ["pools": 0, "templates": 0, "agents": 0, "rv": 0])
        _ = try await t.apply(Specs.pool)
        let counts = try await t.rowCounts()
        let again = try await t.apply(Specs.pool.replacingOccurrences(of: "minIdle: 3", with: "minIdle: 5"), dryRun: true)
        #expect(again.actions == ["pool/default configured"])
        #expect(try await t.rowCounts() == counts)
        let pool = try await t.client.get("/v1/pools/default").json()
        #expect((pool["spec"] as? [String: Any])?["minIdle"] as? Int == 3)
        await t.stop()
    }

    @Test func staleResourceVersionIs409AndChangesNothing() async throws {
        let t = try await TestController.start()
        _ = try await t.apply(Specs.pool)
        let current = try await t.client.get("/v1/pools/default").json()["metadata"] as! [String: Any]
        let rv = current["resourceVersion"] as! String
        let withVersion = { (v: String, min: Int) in
            Specs.pool.replacingOccurrences(of: "metadata: {name: default}", with: "metadata: {name: default, resourceVersion: \"\(v)\"}")
                .replacingOccurrences(of: "minIdle: 3", with: "minIdle: \(min)")
        }
        let ok = try await t.apply(withVersion(rv, 4))
        #expect(ok.actions == ["pool/default configured"])
        let stale = try await t.apply(withVersion(rv, 6))
        #expect(stale.status == 409)
        #expect(stale.detailPaths == ["metadata.resourceVersion"])
        let pool = try await t.client.get("/v1/pools/default").json()
        #expect((pool["spec"] as? [String: Any])?["minIdle"] as? Int == 4)
        await t.stop()
    }

    @Test func jsonBodiesAreAcceptedAndTyped() async throws {
        let t = try await TestController.start()
        let body = #"[{"apiVersion":"agents.convos.org/v1","kind":"Pool","metadata":{"name":"p"},"spec":{"minIdle":1,"image":"ghcr.io/a/b:c"}}]"#
        let r = try await t.client.send("POST", "/v1/apply", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
        #expect(r.actions == ["pool/p created"])
        let quoted = body.replacingOccurrences(of: #""minIdle":1"#, with: #""minIdle":"1""#).replacingOccurrences(of: "\"p\"", with: "\"q\"")
        let refused = try await t.client.send("POST", "/v1/apply", body: Data(quoted.utf8), headers: ["Content-Type": "application/json"])
        #expect(refused.status == 400)
        #expect(refused.detailPaths == ["spec.minIdle"])
        let malformed = try await t.client.send("POST", "/v1/apply", body: Data("{\n\"a\": [1,,]}".utf8), headers: ["Content-Type": "application/json"])
        #expect(malformed.status == 400)
        #expect((malformed.errorBody["message"] as? String)?.hasPrefix("malformed JSON") == true)
        #expect(((malformed.errorBody["details"] as? [[String: Any]])?.first?["line"] as? Int) == 2)
        await t.stop()
    }

    @Test func agentRulesHeldAtApply() async throws {
        let t = try await TestController.start()
        _ = try await t.apply(Specs.join(Specs.template(), Specs.agent("parent", owner: "alice")))
        let stranger = try await t.apply(Specs.agent("child", owner: "mallory", cloneFrom: "parent"))
        #expect(stranger.status == 422)
        #expect(stranger.detailPaths == ["spec.cloneFrom"])
        let orphan = try await t.apply(Specs.agent("child", owner: "alice", cloneFrom: "nobody"))
        #expect(orphan.status == 422)
        let clone = try await t.apply(Specs.agent("child", owner: "alice", cloneFrom: "parent"))
        #expect(clone.actions == ["agent/child created"])
        let moved = try await t.apply(Specs.agent("child", owner: "bob", cloneFrom: "parent"))
        #expect(moved.status == 422)
        #expect(moved.detailPaths == ["spec.owner"])
        #expect(try await t.rowCounts()["agents"] == 2)
        await t.stop()
    }
}
