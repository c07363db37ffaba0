import Foundation
import Resources

/// Where each provider posts inbound messages: registered once, found first, never duplicated.
extension AgentMailProvider {
    /// The webhook for `url` with `message.received` (listed first; made with a fixed `client_id`, so
    /// a lost answer cannot make a second); its signing secret, and whether it was made now.
    public func ensureWebhook(url target: String) async throws(ProviderError) -> (secret: String?, created: Bool) {
        guard let key else { throw ProviderError(.notConfigured, provider: "agentmail", message: "AGENTMAIL_API_KEY is not set") }
        let headers = ["Authorization": "Bearer \(key)", "Content-Type": "application/json"]
        let listed = try await http.send(.init(method: "GET", url: url(base, "/v0/webhooks", [("limit", "100")]), headers: headers,
                                                idempotent: true, operation: "webhooks.list"))
        let hooks = JSONValue(jsonBody: listed.body)?["webhooks"]?.arrayValue ?? []
        if let found = hooks.first(where: { $0["url"]?.stringValue == target }) { return (found["secret"]?.stringValue, false) }
        let body = JSONValue.object(["url": .string(target), "event_types": .array([.string("message.received")]),
                                     "client_id": .string("convos-controller-inbound")])
        let made = try await http.send(.init(method: "POST", url: url(base, "/v0/webhooks"), headers: headers, body: body.canonicalData(),
                                              idempotent: true, operation: "webhooks.create"))
        return (JSONValue(jsonBody: made.body)?["secret"]?.stringValue, true)
    }
}

extension TelnyxProvider {
    /// The messaging profile posts its inbound texts to `url` (Telnyx keeps one webhook URL per
    /// profile); true when it was set now.
    public func ensureWebhook(profileID: String, url target: String) async throws(ProviderError) -> Bool {
        guard let key else { throw ProviderError(.notConfigured, provider: "telnyx", message: "TELNYX_API_KEY is not set") }
        let headers = ["Authorization": "Bearer \(key)", "Content-Type": "application/json"]
        let current = try await http.send(.init(method: "GET", url: url(base, "/messaging_profiles/\(profileID)"), headers: headers,
                                                 idempotent: true, operation: "messaging_profiles.get"))
        if JSONValue(jsonBody: current.body)?["data"]?["webhook_url"]?.stringValue == target { return false }
        let body = JSONValue.object(["webhook_url": .string(target), "webhook_api_version": .string("2")])
        _ = try await http.send(.init(method: "PATCH", url: url(base, "/messaging_profiles/\(profileID)"), headers: headers,
                                      body: body.canonicalData(), idempotent: true, operation: "messaging_profiles.update"))
        return true
    }
}
