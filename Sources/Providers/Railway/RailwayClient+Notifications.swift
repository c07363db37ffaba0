import Foundation
import Resources

/// Railway's notification rules: deployment events posted to a webhook, so the controller learns
/// of deploys as they happen instead of polling (convos-system.md section 3).
extension RailwayClient {
    /// The deployment events the controller listens to.
    public static let deploymentEvents = ["Deployment.deployed", "Deployment.crashed", "Deployment.failed",
                                          "Deployment.oom_killed", "Deployment.slept", "Deployment.resumed"]

    /// Makes sure one rule of the workspace posts deployment events to `url`: an existing one is
    /// found first (by its webhook URL), so a restart or a new leader never makes a second.
    /// Returns the rule's id and whether it was made now.
    public func ensureNotificationRule(url: String) async throws(ProviderError) -> (id: String, created: Bool) {
        guard let workspaceID else {
            throw ProviderError(.notConfigured, provider: "railway", message: "RAILWAY_WORKSPACE_ID is not set")
        }
        let existing = try await call(.notificationRules, ["workspaceId": .string(workspaceID)])
        for rule in existing["notificationRules"]?.arrayValue ?? [] {
            let urls = (rule["channels"]?.arrayValue ?? []).compactMap { $0["config"]?["url"]?.stringValue }
            if urls.contains(url), let id = rule["id"]?.stringValue { return (id, false) }
        }
        let data = try await call(.notificationRuleCreate, ["input": .object([
            "workspaceId": .string(workspaceID),
            "eventTypes": .array(Self.deploymentEvents.map(JSONValue.string)),
            "channelConfigs": .array([.object(["type": .string("webhook"), "url": .string(url)])]),
        ])])
        guard let id = data["notificationRuleCreate"]?["id"]?.stringValue else {
            throw ProviderError(.terminal, provider: "railway", message: "notificationRuleCreate returned no id")
        }
        return (id, true)
    }
}
