import Foundation
import Postgres
import Providers
import Resources

/// What the services proxy (`RuntimeAPI`) needs of an instance: its own inbox and number as our
/// rows record them (never as a request says), and the account-keyed provider calls on them.
extension InProcessServices {
    /// The instance's own tools, as recorded.
    public struct ProxyTargets: Sendable, Equatable {
        /// The AgentMail inbox id (its address).
        public var inbox: String?
        /// The E.164 number, and the messaging profile it sends on.
        public var phone: String?
        public var messagingProfileID: String?
    }

    /// The instance's secret and its tools in one query: the proxy's per-call read.
    public func proxyCredentials(_ instanceID: String) async throws -> (secret: String, targets: ProxyTargets)? {
        guard validInstanceID(instanceID), let row = try await db.query("""
            SELECT i.runtime_key,
                   (SELECT t.external_id FROM services.tool_resources t WHERE t.instance_id = i.instance_id AND t.tool = 'email'
                      AND t.state = 'ready' AND t.provisioning = 'pool') AS inbox,
                   (SELECT t.external_id FROM services.tool_resources t WHERE t.instance_id = i.instance_id AND t.tool = 'sms'
                      AND t.state = 'ready' AND t.provisioning = 'pool') AS phone,
                   (SELECT n.messaging_profile_id FROM services.phone_numbers n WHERE n.instance_id = i.instance_id AND n.state = 'assigned') AS profile
            FROM services.instances i WHERE i.instance_id = $1 AND i.state IN ('creating', 'ready')
            """, [instanceID]).first, let secret: String = try row.decode("runtime_key") else { return nil }
        let phone: String? = try row.decode("phone")
        return (secret, ProxyTargets(inbox: try row.decode("inbox"), phone: phone,
                                     messagingProfileID: phone == nil ? nil : try row.decode("profile") ?? providers.telnyx.messagingProfileID))
    }

    public func proxyTargets(_ instanceID: String) async throws -> ProxyTargets {
        let rows = try await db.query("""
            SELECT t.tool, t.external_id, n.messaging_profile_id FROM services.tool_resources t
            LEFT JOIN services.phone_numbers n ON n.instance_id = t.instance_id AND n.state = 'assigned' AND t.tool = 'sms'
            WHERE t.instance_id = $1 AND t.tool IN ('email', 'sms') AND t.state = 'ready' AND t.provisioning = 'pool'
            """, [instanceID]).rows
        var targets = ProxyTargets()
        for row in rows {
            switch try row.decode("tool", as: String.self) {
            case "email": targets.inbox = try row.decode("external_id")
            default:
                targets.phone = try row.decode("external_id")
                targets.messagingProfileID = try row.decode("messaging_profile_id") ?? providers.telnyx.messagingProfileID
            }
        }
        return targets
    }

    /// An AgentMail call on the instance's own inbox.
    public func forwardMail(_ method: String, inbox: String, _ rest: [String], query: [(String, String)] = [], body: Data? = nil,
                            operation: String) async throws -> Forwarded {
        try await provider { () async throws(ProviderError) in
            try await providers.agentMail.forward(method, inbox: inbox, rest, query: query, body: body, operation: operation)
        }
    }

    /// A Telnyx call built by the proxy for the instance's own number.
    public func forwardTelnyx(_ method: String, _ segments: [String], query: [(String, String)] = [], body: Data? = nil,
                              operation: String) async throws -> Forwarded {
        try await provider { () async throws(ProviderError) in
            try await providers.telnyx.forward(method, segments, query: query, body: body, operation: operation)
        }
    }
}

extension InProcessServices {
    /// The runtime gave a tool back (`/api/proxy/.../unprovision`): released as a template's
    /// removal would be (a number back to the reuse pool), and marked `releasedByRuntime`, so the
    /// reconciler does not make it again until the runtime asks (`provision` clears the mark).
    public func releaseForRuntime(_ instanceID: String, tool: ToolName, resourceID: String) async throws {
        // Marked first: a tick between the release and its mark would plan the tool made again.
        _ = try await db.query("""
            UPDATE services.tool_resources SET config = config || '{"releasedByRuntime": "true"}'::jsonb, updated_at = now()
            WHERE instance_id = $1 AND tool = $2
            """, [instanceID, tool.rawValue])
        try await destroyTool(instanceID, tool: tool, resourceID: resourceID)
    }
}

extension InProcessServices {
    /// `POST /convos/update-metadata` with the instance's email or phone (`""` once released), so the
    /// agent's profile names it. Only once the runtime has its conversation (it answers 400 before):
    /// `configure` tells what was made before then. Best effort, as production's: a failure is not
    /// retried (the proxy's `info` always answers the truth).
    package func tellMetadata(_ instanceID: String, _ tool: ToolName, _ value: String?) async {
        guard tool == .email || tool == .sms, let target = try? await runtimeTarget(instanceID),
              (try? await db.query("SELECT 1 FROM services.instances WHERE instance_id = $1 AND configured_at IS NOT NULL", [instanceID]).first) != nil
        else { return }
        let key = tool == .email ? "email" : "phone"
        _ = try? await providers.runtime.updateMetadata(target.url, key: target.key, [key: value ?? ""])
    }

    /// After `configure`: the pool tools made while the conversation was being created.
    package func tellMadeTools(_ instanceID: String) async {
        guard let targets = try? await proxyTargets(instanceID) else { return }
        if let inbox = targets.inbox { await tellMetadata(instanceID, .email, inbox) }
        if let phone = targets.phone { await tellMetadata(instanceID, .sms, phone) }
    }
}
