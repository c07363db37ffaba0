import Foundation
import Testing
import AppTestSupport

/// Apply and the reconciler's status writes touch the same rows: they must take their locks in one
/// order. Before they did, re-applying five objects while agents were bound answered 500 (a
/// deadlock: apply locked the pool then the agents, the status writer the agents then the pool).
@Suite struct ApplyStressTests {
    @Test func twoHundredAppliesDuringReconcileAllSucceed() async throws {
        let t = try await TestController.start(simulate: true)
        func specs(_ round: Int) -> String {
            // Every round changes each object, so each is written and its status rewritten.
            Specs.join(Specs.poolSized(2 + round % 2),
                       Specs.conciergeTemplate.replacingOccurrences(of: "Plan the week.", with: "Plan week \(round)."),
                       Specs.template("second", labels: "{round: \"\(round)\"}"),
                       Specs.agent("a1"), Specs.agent("a2", template: "second"))
        }
        var failures: [String] = []
        for round in 0..<200 {
            let response = try await t.apply(specs(round))
            if response.status != 200 { failures.append("round \(round): \(response.status) \(String(decoding: response.body, as: UTF8.self))") }
        }
        #expect(failures.isEmpty, "\(failures.count) of 200 applies failed: \(failures.prefix(3))")
        try await eventually("both agents Ready") { try await ["a1", "a2"].asyncAllSatisfy { try await t.phase($0) == "Ready" } }
        #expect(await t.controller.reconciler.snapshot.ticks > 20, "the reconciler ran through the applies")
        await t.stop()
    }
}
