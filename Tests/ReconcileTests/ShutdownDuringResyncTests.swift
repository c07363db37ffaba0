import Foundation
import Testing
import AppTestSupport
import Services
import TestSupport

/// SIGTERM during a resync: Railway's listing (a page per 100 projects, 500 pages at 50,000) stops
/// at the page it is on, and the process stops with it. Before, shutdown waited for every page,
/// and for an audit's listings of every tool: a scale run's controller took 4 minutes to exit.
@Suite struct ShutdownDuringResyncTests {
    @Test func shutdownDoesNotWaitForTheListingsPages() async throws {
        var cloud = TestController.fastCloud
        // 5,000 projects at 300 ms a page: the listing needs 15 s.
        cloud.latency = ["railway": .milliseconds(300)]
        let t = try await TestController.start(simulate: true, cloud: cloud) { $0.resyncInterval = .seconds(1) }
        _ = try await t.apply(Specs.poolSized(1))
        try await eventually("one idle instance", timeout: .seconds(60)) { try await t.idle("default") == 1 }
        let names = (0..<5_000).map { String(format: "convos-agent-other%07d", $0) }
        let made = try await TestHTTPClient(base: t.controller.simulator!.baseURL).send(
            "POST", "/_sim/railway/bulk", body: try JSONSerialization.data(withJSONObject: [
                "names": names, "image": "ghcr.io/xmtplabs/convos-runtime:production", "idle": true]),
            headers: ["Content-Type": "application/json"])
        #expect(made.status == 200)
        let local = try #require(t.controller.services as? InProcessServices)
        // A listing that started after the projects were made: it has 50 pages to go.
        try await eventually("between resyncs", timeout: .seconds(60)) { !(await local.isResyncing) }
        try await eventually("a resync under way", timeout: .seconds(60)) { await local.isResyncing }

        let started = ContinuousClock.now
        await t.stop()
        let took = ContinuousClock.now - started
        // The page in flight runs to its end (requests are shielded from cancellation); the
        // tick's own drain has its bound. Far under the 15 s the pages would take.
        #expect(took < .seconds(6), "shutdown took \(took)")
    }
}
