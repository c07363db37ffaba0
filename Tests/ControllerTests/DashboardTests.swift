import Foundation
import Testing
@testable import Controller
import TestSupport

@Suite struct DashboardTests {
    @Test func dashboardShowsLiveDataAndEscapesIt() async throws {
        let t = try await TestController.start(token: "dash-token", simulate: true)
        let auth = ["Authorization": "Bearer dash-token", "Content-Type": "application/yaml"]
        let template = ReconcilerTests.template.replacingOccurrences(of: "instructions: Plan the week.", with: "instructions: \"<script>alert(1)</script>\"")
        _ = try await t.apply(Specs.join(ReconcilerTests.pool(2), template, Specs.agent("alice-agent", owner: "alice")), headers: auth)
        try await eventually("agent Ready, 2 idle") {
            let ready = try await t.phase("alice-agent") == "Ready"
            let idle = try await t.idle()
            return ready && idle == 2
        }
        let page = try await t.client.get("/")
        #expect(page.status == 200, "public, like the contract says")
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        let html = page.text
        try await eventually("gauges show the pool") { try await t.client.get("/").text.contains("id=\"default-idle\">2<") }
        #expect(html.contains("alice-agent") && html.contains("Ready") && html.contains("concierge"))
        #expect(html.contains("?watch=true&resourceVersion="), "the page reloads on a watched change")
        #expect(!html.contains("<script>alert(1)</script>"), "template text is escaped")
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing loaded from outside")
        await t.stop()
    }
}
