import Foundation
import HTTPServer
import Postgres
import Resources

/// `POST /webhooks/railway/SECRET`: Railway's deployment events (convos-system.md section 3).
/// Public, the secret in the path is the check (compared in constant time). An event is a hint,
/// never trusted alone: it names the service whose instance the leader polls at its next status
/// batch, told through `NOTIFY convos_railway_event` so whichever replica leads hears it.
struct RailwayWebhook: Sendable {
    let db: PostgresPool
    let secret: String

    /// The body Railway posts; only the service id is used.
    struct Event: Decodable {
        struct Resource: Decodable {
            struct ID: Decodable { let id: String }
            let service: ID?
        }
        let type: String
        let resource: Resource?
    }

    func handle(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard APIAuth.equal(request.pathParameters["secret"] ?? "", secret) else {
            throw HTTPError.notFound("no such webhook")
        }
        let event: Event
        do {
            event = try JSONDecoder().decode(Event.self, from: request.body)
        } catch {
            throw HTTPError.badRequest("body must be a Railway event: {\"type\": \"Deployment.deployed\", \"resource\": {\"service\": {\"id\"}}}",
                                       details: [.init(path: "type", message: "is required")])
        }
        guard let serviceID = event.resource?.service?.id, event.type.hasPrefix("Deployment.") else {
            return .json(["accepted": false])
        }
        let rows = try await db.query("""
            SELECT pg_notify('convos_railway_event', instance_id) FROM services.instances WHERE railway_service_id = $1
            """, [serviceID])
        return .json(["accepted": !rows.isEmpty])
    }
}

extension API {
    /// Always routed; without `PUBLIC_URL` (no rule registered) every secret is unknown: 404.
    func addWebhookRoutes(_ router: inout Router) {
        let webhook = railwayWebhook
        router.add("POST", "/webhooks/railway/:secret") { request in
            guard let webhook else { throw HTTPError.notFound("no such webhook") }
            return try await webhook.handle(request)
        }
    }
}
