import Foundation
import Testing
import AppTestSupport
import TestSupport

/// `apply?dryRun=true` writes nothing and says what the reconciler would do about the change: the
/// real planner on the stored state, before and after, in the dry run's transaction.
@Suite struct DryRunTests {
    @Test func aNewAgentsDryRunListsBindConfigureAndEachToolAndWritesNothing() async throws {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let response = try await t.apply(Specs.agent("n1"), dryRun: true)
        #expect(response.status == 200)
        let body = try response.json()
        #expect(body["dryRun"] as? Bool == true)
        #expect(response.actions == ["agent/n1 created"])
        let planned = (body["plannedActions"] as? [[String: Any]] ?? []).map { "\($0["action"] as? String ?? "") \($0["target"] as? String ?? "")" }
        for expected in ["bindAgent agent/n1", "configure agent/n1/runtime", "provisionTool agent/n1/email", "provisionTool agent/n1/sms",
                         "provisionTool agent/n1/crypto", "createInstances pool/default"] {
            #expect(planned.contains(expected), "\(expected) in \(planned)")
        }
        #expect(planned.first == "bindAgent agent/n1", "the bind first: \(planned)")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.agents") == 0, "a dry run writes nothing")

        // The same through the CLI, and nothing planned for what is already in force.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dryrun-\(UUID().uuidString).yaml")
        try Data(Specs.agent("n1").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let cli = try await t.cli("apply -f \(file.path) --dry-run")
        #expect(cli.status == 0 && cli.output.contains("planned:") && cli.output.contains("bindAgent agent/n1"), "\(cli.output)")
        let unchanged = try await t.apply(Specs.poolSized(1), dryRun: true)
        #expect((try unchanged.json()["plannedActions"] as? [Any])?.isEmpty == true, "\(String(decoding: unchanged.body, as: UTF8.self))")
        await t.stop()
    }
}
