import Foundation
import Sync
import HTTPServer

/// Who may call what (CONTRACT.md sections 4 and 5). Each route group accepts some bearer tokens:
/// the controller's everywhere, `POOL_API_KEY` on `/api/pool/*`, `SERVICES_API_KEY` on the services
/// routes, and a runtime's own `INSTANCE_SERVICES_TOKEN` on `POST /provision/ITS_ID/TOOL` only.
/// A group with no token configured is open; `serve` refuses that off loopback.
package struct APIAuth: Sendable {
    package var controllerToken: String?
    package var poolKey: String?
    package var servicesKey: String?
    /// The instance a runtime's services token belongs to (services hosted here), or nil.
    package var runtimeInstance: (@Sendable (String) async throws -> String?)?
    /// The dashboard's session a request's cookie names (`Sessions`), standing for the controller's token.
    package var session: (@Sendable (HTTPRequest) async -> Sessions.Session?)?

    package enum Decision: Equatable { case allow, unauthorized, forbidden(String) }

    /// Routes anyone may call: probes, metrics, the dashboard, the pool counts and the template store.
    package static let publicPatterns: Set<String> = Set(["/healthz", "/readyz", "/metrics", "/", "/openapi.json", "/webhooks/railway/:secret", "/ui/session",
                                                   "/app/:file", "/.well-known/agents.json",
                                                   "/webhooks/agentmail", "/webhooks/telnyx"]).union(runtimePatterns)

    /// What runtimes call with their own instance credentials, checked by the route itself
    /// (`RuntimeAPI`): never the controller's tokens.
    package static let runtimePatterns: Set<String> = Set(["self-info", "self-upgrade", "self-destruct", "credits-check", "credits-topup", "redeem-coupon", "attest",
                                                           "pending-acceptance/complete", "pending-acceptance/fail"].map { "/api/pool/" + $0 })
        .union(["info", "email/send", "email/messages", "email/threads", "email/messages/:id", "sms/send", "sms/records", "sms/messages/:id",
                "email/provision", "email/unprovision", "sms/provision", "sms/unprovision"].map { "/api/proxy/" + $0 })

    /// The services API's routes (CONTRACT.md section 5).
    package static let servicesPatterns: Set<String> = [
        "/create-instance", "/destroy/:instance", "/status/batch", "/redeploy/:instance", "/provision/:instance/:tool",
        "/destroy/:instance/:tool/:resource", "/configure/:instance", "/registry", "/update-template/:instance",
        "/clone-summary/:instance", "/user-config/:agent", "/status/observed", "/hand-over/:instance", "/conversation/:instance", "/prune-variables/:instance", "/upgrade/:instance", "/audit-tools", "/stock-numbers", "/remove-strays/:instance",
    ]

    package static func isPublic(_ request: HTTPRequest, pattern: String) -> Bool {
        if publicPatterns.contains(pattern) { return true }
        guard request.method == "GET" || request.method == "HEAD" else { return false }
        if pattern == "/api/pool/counts" { return true }
        // The store: public templates only, and nothing else asked.
        return pattern == "/api/pool/templates" && request.query == ["visibility": "public"]
    }

    package func check(_ request: HTTPRequest, pattern: String) async -> Decision {
        if Self.isPublic(request, pattern: pattern) { return .allow }
        let services = Self.servicesPatterns.contains(pattern)
        var accepted = [controllerToken]
        if pattern.hasPrefix("/api/pool/") { accepted.append(poolKey) }
        if services { accepted.append(servicesKey) }
        let tokens = accepted.compactMap { $0 }
        if tokens.isEmpty { return .allow }
        guard let given = Self.bearer(request) else {
            // The session cookie stands for the controller's token; a write made with it must
            // carry the session's CSRF token, which another site's page cannot read.
            guard controllerToken != nil, let lookup = session, let found = await lookup(request) else { return .unauthorized }
            if request.method == "GET" || request.method == "HEAD" || Sessions.csrfMatches(request, found) { return .allow }
            return .forbidden("X-CSRF-Token is missing or wrong: a write made with the session cookie must carry the session's token")
        }
        if tokens.contains(where: { Self.equal(given, $0) }) { return .allow }
        guard services, let lookup = runtimeInstance, let instance = try? await lookup(given) else { return .unauthorized }
        guard request.method == "POST", pattern == "/provision/:instance/:tool" else {
            return .forbidden("a runtime's services token may only provision tools for its own instance")
        }
        return request.pathParameters["instance"] == instance ? .allow
            : .forbidden("a runtime's services token may only provision tools for its own instance (\(instance))")
    }

    package static func bearer(_ request: HTTPRequest) -> String? {
        guard let header = request.header("authorization"), header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7))
    }

    package static func equal(_ given: String, _ expected: String) -> Bool { ConstantTime.equal(given, expected) }

    package init(controllerToken: String? = nil, poolKey: String? = nil, servicesKey: String? = nil, runtimeInstance: (@Sendable (String) async throws -> String?)? = nil, session: (@Sendable (HTTPRequest) async -> Sessions.Session?)? = nil) {
        self.controllerToken = controllerToken
        self.poolKey = poolKey
        self.servicesKey = servicesKey
        self.runtimeInstance = runtimeInstance
        self.session = session
    }
}
