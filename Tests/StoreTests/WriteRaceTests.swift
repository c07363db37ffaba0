import Foundation
import Testing
import AppTestSupport
import TestSupport

/// Writes that race on one object keep Kubernetes semantics: a patch applies to the object as its
/// own transaction reads it, and a resourceVersion precondition is checked in that transaction, so
/// no patch is lost and of writes carrying one version exactly one succeeds.
@Suite struct WriteRaceTests {
    static let agents = "/apis/agents.convos.org/v1/agents"

    /// A controller with the concierge template and one agent, `racer`, and no reconciler, so
    /// nothing but the requests under test writes the agent.
    static func start() async throws -> TestController {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let applied = try await t.apply(Specs.join(Specs.template(), Specs.agent("racer")))
        #expect(applied.status == 200, "\(applied.text)")
        return t
    }

    static func labels(_ t: TestController) async throws -> [String: Any] {
        let object = try await t.client.send("GET", agents + "/racer").json()
        return ((object["metadata"] as? [String: Any])?["labels"] as? [String: Any]) ?? [:]
    }

    static func kubeVersion(_ t: TestController) async throws -> String {
        let object = try await t.client.send("GET", agents + "/racer").json()
        return ((object["metadata"] as? [String: Any])?["resourceVersion"] as? String) ?? ""
    }

    /// Sends `count` requests at once and returns their statuses in the order sent.
    static func concurrently(_ count: Int, _ request: @escaping @Sendable (Int) async throws -> Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<count { group.addTask { (i, try await request(i)) } }
            var statuses = [Int](repeating: 0, count: count)
            for try await (i, status) in group { statuses[i] = status }
            return statuses
        }
    }

    @Test func concurrentMergePatchesAllTakeEffect() async throws {
        let t = try await Self.start()
        let client = t.client
        let statuses = try await Self.concurrently(30) { i in
            let patch = Data(#"{"metadata":{"labels":{"racer-\#(i)":"yes"}}}"#.utf8)
            return try await client.send("PATCH", Self.agents + "/racer", body: patch,
                                         headers: ["Content-Type": "application/merge-patch+json"]).status
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        let labels = try await Self.labels(t)
        #expect(labels.count == 30, "every patch's label is stored: \(labels.keys.sorted())")
        await t.stop()
    }

    @Test func concurrentJSONPatchesAllTakeEffect() async throws {
        let t = try await Self.start()
        let client = t.client
        _ = try await client.send("PATCH", Self.agents + "/racer", body: Data(#"{"metadata":{"labels":{"base":"x"}}}"#.utf8),
                                  headers: ["Content-Type": "application/merge-patch+json"])
        let statuses = try await Self.concurrently(20) { i in
            let patch = Data(#"[{"op":"add","path":"/metadata/labels/json-\#(i)","value":"yes"}]"#.utf8)
            return try await client.send("PATCH", Self.agents + "/racer", body: patch,
                                         headers: ["Content-Type": "application/json-patch+json"]).status
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        #expect(try await Self.labels(t).count == 21)
        await t.stop()
    }

    @Test func concurrentPutsWithOneVersionOneWins() async throws {
        let t = try await Self.start()
        let client = t.client
        let version = try await Self.kubeVersion(t)
        let statuses = try await Self.concurrently(20) { i in
            let body = Data("""
                {"apiVersion":"agents.convos.org/v1","kind":"Agent","metadata":{"name":"racer","resourceVersion":"\(version)",
                 "labels":{"winner":"put-\(i)"}},"spec":{"template":"concierge","owner":"user_1"}}
                """.utf8)
            return try await client.send("PUT", Self.agents + "/racer", body: body, headers: ["Content-Type": "application/json"]).status
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 409 }.count == 19, "\(statuses)")
        let winner = statuses.firstIndex(of: 200) ?? -1
        #expect(try await Self.labels(t)["winner"] as? String == "put-\(winner)", "only the winner is stored")
        await t.stop()
    }

    @Test func concurrentAppliesWithOneVersionOneWins() async throws {
        let t = try await Self.start()
        let stored = try await t.client.send("GET", "/v1/agents/racer").json()
        let version = ((stored["metadata"] as? [String: Any])?["resourceVersion"] as? String) ?? ""
        let statuses = try await Self.concurrently(20) { i in
            try await t.apply("""
                apiVersion: agents.convos.org/v1
                kind: Agent
                metadata: {name: racer, resourceVersion: "\(version)", labels: {winner: apply-\(i)}}
                spec: {template: concierge, owner: user_1}
                """).status
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 409 }.count == 19, "\(statuses)")
        let winner = statuses.firstIndex(of: 200) ?? -1
        #expect(try await Self.labels(t)["winner"] as? String == "apply-\(winner)", "only the winner is stored")
        await t.stop()
    }

    @Test func aStalePatchPreconditionIsAConflict() async throws {
        let t = try await Self.start()
        let version = try await Self.kubeVersion(t)
        let first = try await t.client.send("PATCH", Self.agents + "/racer", body: Data(#"{"metadata":{"labels":{"a":"1"}}}"#.utf8),
                                            headers: ["Content-Type": "application/merge-patch+json"])
        #expect(first.status == 200)
        let stale = try await t.client.send("PATCH", Self.agents + "/racer",
                                            body: Data(#"{"metadata":{"resourceVersion":"\#(version)","labels":{"b":"2"}}}"#.utf8),
                                            headers: ["Content-Type": "application/merge-patch+json"])
        let reason = try stale.json()["reason"] as? String
        #expect(stale.status == 409 && reason == "Conflict", "\(stale.text)")
        #expect(try await Self.labels(t)["b"] == nil, "nothing stored")
        await t.stop()
    }

    /// Every kind decodes scalars one strict way: a number or boolean where a string belongs is
    /// refused with its field, through /v1/apply and the Kubernetes API alike.
    @Test func aNumberWhereAStringBelongsIsRefusedWithItsField() async throws {
        let t = try await Self.start()
        let before = try await t.rowCounts()
        let agent = try await t.apply("""
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: numeric}
            spec: {template: concierge, owner: user_1, agentName: 5}
            """)
        #expect(agent.status == 400 && agent.detailPaths.contains("spec.agentName"), "\(agent.text)")
        let template = try await t.apply(Specs.template("numbered", model: "5"))
        #expect(template.status == 400 && template.detailPaths.contains("spec.model.default"), "\(template.text)")
        let boolean = try await t.client.send("POST", Self.agents, body: Data("""
            {"apiVersion":"agents.convos.org/v1","kind":"Agent","metadata":{"name":"flag"},"spec":{"template":"concierge","owner":true}}
            """.utf8), headers: ["Content-Type": "application/json"])
        let causes = (((try boolean.json())["details"] as? [String: Any])?["causes"] as? [[String: Any]]) ?? []
        #expect(boolean.status == 422 && causes.contains { $0["field"] as? String == "spec.owner" }, "\(boolean.text)")
        #expect(try await t.rowCounts() == before, "nothing stored")
        await t.stop()
    }
}
