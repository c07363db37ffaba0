import Foundation
import Testing
@testable import Controller
import TestSupport

/// The single-page dashboard in a real browser (headless Chromium driven by Selenium, installed
/// by `scripts/test`) against a controller with the simulated cloud, on a phone-sized window:
/// the store, sign-in, a template made with the form and published, a claim to its invite URL,
/// the live list, the detail's events, and a delete followed until the agent is gone.
@Suite struct DashboardBrowserTests {
    @Test func storeSignInTemplateFormClaimToInviteLiveListDetailAndDelete() async throws {
        let t = try await TestController.start(token: "browser-token", simulate: true)
        let applied = try await t.apply(Specs.join(ReconcilerTests.pool(2), ReconcilerTests.template), headers: ["Authorization": "Bearer browser-token"])
        #expect(applied.status == 200)
        try await eventually("an idle instance", timeout: .seconds(60)) { try await t.idle() >= 1 }
        let script = CLITests.repo + "/Tests/Browser/click_through.py"
        let run = await shellOutput("timeout 240 python3 \(script) \(t.url) browser-token", mergeErrors: true)
        #expect(run.status == 0, "\(run.output)")
        for step in ["store: ['Concierge']", "signed in", "template created and published", "the store shows it", "invite: https://", "ready in the list without a reload", "detail shows its events", "deleted:"] {
            #expect(run.output.contains(step), "\(step) in \(run.output)")
        }
        await t.stop()
    }
}
