import Foundation
import Testing
import AppTestSupport
import TestSupport

/// The dashboard in a real browser (headless Chromium driven by Selenium, both installed by
/// `scripts/test`) against a controller with the simulated cloud, on a phone-sized screen. The
/// scripts in Tests/Browser print a line per step they passed; these tests run them and expect
/// every step.
@Suite struct DashboardBrowserTests {
    /// Starts a controller with a pool, the concierge template and one agent whose owner, name and
    /// instance must not show signed out; runs `script` against it.
    private func run(_ script: String) async throws -> (status: Int32, output: String) {
        let t = try await TestController.start(token: "browser-token", simulate: true)
        let applied = try await t.apply(Specs.join(Specs.poolSized(2), Specs.conciergeTemplate, Specs.agent("shown-agent", owner: "shown-owner")),
                                        headers: ["Authorization": "Bearer browser-token"])
        #expect(applied.status == 200)
        try await eventually("the agent Ready, an idle instance", timeout: .seconds(60)) {
            let ready = try await t.phase("shown-agent") == "Ready"
            let idle = try await t.idle()
            return ready && idle >= 1
        }
        let directory = Repo.root + "/Tests/Browser"
        let run = await shellOutput("cd \(directory) && CONTROLLER_URL=\(t.url) SIM_URL=\(t.controller.simulator!.baseURL) CONTROLLER_API_TOKEN=browser-token timeout 240 python3 \(script)", mergeErrors: true)
        await t.stop()
        // The steps, and the figure the click-through measures, in the test log.
        print(run.output)
        return run
    }

    @Test func storeSignInTemplateClaimToInviteLiveListCLIChangeDetailPoolDeleteAndSignOut() async throws {
        let run = try await run("click_through.py")
        #expect(run.status == 0, "\(run.output)")
        for step in ["store: ['Concierge']", "signed out, nothing private on 7 views", "signed in", "template created and published",
                     "the store shows it, its markup as text", "search narrows the store to it", "claimed; invite: https://", "ready in the list without a reload",
                     "a CLI apply showed on the open page in", "the failing step shown apart:", "and gone once it passed", "detail shows its conditions, tools, instance and events",
                     "pool resized with its form; conditions shown", "deleting a template in use is refused, saying why:", "status shows providers and instances", "deleted and gone:"] {
            #expect(run.output.contains(step), "\(step) in \(run.output)")
        }
    }

    @Test func theClaimFlowByKeyboardAlone() async throws {
        let run = try await run("keyboard_claim.py")
        #expect(run.status == 0, "\(run.output)")
        for step in ["signed in by keyboard", "claim sent by keyboard", "focus on the invite: https://", "copy button: Copied"] {
            #expect(run.output.contains(step), "\(step) in \(run.output)")
        }
    }
}
