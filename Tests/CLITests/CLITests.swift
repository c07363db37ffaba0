import Foundation
import Testing
import AppTestSupport
import TestSupport

/// The real binary against a real controller: output lines and exit codes of CONTRACT.md section 1.
@Suite struct CLITests {
    static let repo = Repo.root

    @Test func applyGetDiffDeleteWithTheRepositorySpecs() async throws {
        let t = try await TestController.start(token: "cli-token")
        let applied = try await t.cli("apply -f specs/", token: "cli-token")
        #expect(applied.status == 0)
        #expect(applied.output.split(separator: "\n").sorted() == [
            "agent/alice-concierge created", "agent/alice-planner created", "agenttemplate/concierge created",
            "agenttemplate/planner created", "pool/default created"])
        let again = try await t.cli("apply -f specs/ --dry-run", token: "cli-token")
        #expect(again.output.contains("pool/default unchanged (dry run)"))

        let agents = try await t.cli("get agents", token: "cli-token")
        #expect(agents.status == 0)
        let lines = agents.output.split(separator: "\n")
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "TEMPLATE", "OWNER", "PHASE", "READY", "INSTANCE", "AGE"])
        #expect(lines.count == 3 && lines[1].hasPrefix("alice-concierge") && lines[1].contains("Pending"))

        let yaml = try await t.cli("get agent alice-planner -o yaml", token: "cli-token")
        #expect(yaml.output.contains("kind: Agent") && yaml.output.contains("template: planner"))

        #expect(try await t.cli("diff -f specs/", token: "cli-token").status == 0)
        let changed = await shellOutput("mkdir -p /tmp/convos-diff-\(t.controller.port) && sed 's/minIdle: 3/minIdle: 4/' \(Self.repo)/specs/01-pool.yaml > /tmp/convos-diff-\(t.controller.port)/pool.yaml")
        #expect(changed.status == 0)
        let diff = try await t.cli("diff -f /tmp/convos-diff-\(t.controller.port)", token: "cli-token")
        #expect(diff.status == 1)
        #expect(diff.output.contains("-  minIdle: 3\n+  minIdle: 4"))

        let deleted = try await t.cli("delete agent alice-concierge", token: "cli-token")
        #expect(deleted.status == 0 && deleted.output == "agent/alice-concierge terminating\n")
        await t.stop()
    }

    /// `get agents -w` prints the table, then a row for each change as it happens (the watch).
    @Test func getWatchPrintsPhaseChangesAsTheyHappen() async throws {
        let t = try await TestController.start(token: "cli-token", simulate: true)
        _ = try await t.cli("apply -f specs/01-pool.yaml", token: "cli-token")
        _ = try await t.cli("apply -f specs/02-templates.yaml", token: "cli-token")
        guard let bin = ProcessInfo.processInfo.environment["CONVOS_CONTROLLER_BIN"] else { throw TestEnvironmentError("CONVOS_CONTROLLER_BIN") }
        let file = "/tmp/convos-cli-watch-\(t.controller.port).txt"
        _ = await shell("CONTROLLER_URL=\(t.url) CONTROLLER_API_TOKEN=cli-token timeout 60 \(bin) get agents --watch > \(file) 2>&1 &")
        try await eventually("the watch printed its header") { ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("NAME") }
        _ = try await t.cli("apply -f specs/03-agents.yaml", token: "cli-token")
        try await eventually("alice-planner is seen Ready after an earlier phase", timeout: .seconds(40)) {
            let rows = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("alice-planner ") }
            let phases = rows.compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init) }
            return phases.last == "Ready" && Set(phases).count >= 2
        }
        _ = await shell("pkill -f 'get agents --watch' ; rm -f \(file)")
        await t.stop()
    }

    @Test func exitCodes() async throws {
        let t = try await TestController.start(token: "cli-token")
        #expect(try await t.cli("frobnicate").status == 2)
        #expect(try await t.cli("get").status == 2)
        let unauthorized = try await t.cli("get agents")
        #expect(unauthorized.status == 3)
        #expect(unauthorized.output.contains("missing or invalid bearer token"))
        let bad = await shellOutput("printf 'apiVersion: agents.convos.org/v1\\nkind: Pool\\nmetadata: {name: p}\\nspec: {minIdle: -1, image: ghcr.io/a/b}\\n' > /tmp/convos-bad-\(t.controller.port).yaml")
        #expect(bad.status == 0)
        let refused = try await t.cli("apply -f /tmp/convos-bad-\(t.controller.port).yaml", token: "cli-token")
        #expect(refused.status == 3)
        #expect(refused.output == "error: pool/p: spec.minIdle: must be between 0 and 100000 (/tmp/convos-bad-\(t.controller.port).yaml:4)\n")
        await t.stop()
        let unreachable = try await t.cli("get agents", token: "cli-token")
        #expect(unreachable.status == 4)
    }
}
