import Foundation
import HTTPServer
import Postgres
import Resources
import Sync

/// `POST /webhooks/railway/SECRET`: Railway's deployment events (convos-system.md section 3).
/// Public, the secret in the path is the check (compared in constant time). An event is a hint,
/// never trusted alone: it names the service whose instance the leader polls at its next status
/// batch, told through `NOTIFY convos_railway_event` so whichever replica leads hears it.
public struct RailwayWebhook: Sendable {
    package let db: PostgresPool
    package let secret: String

    public init(db: PostgresPool, secret: String) {
        self.db = db
        self.secret = secret
    }

    /// The body Railway posts; only the service id is used.
    package struct Event: Decodable {
        package struct Resource: Decodable {
            package struct ID: Decodable { let id: String }
            package let service: ID?
        }
        package let type: String
        package let resource: Resource?
    }

    package func handle(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard ConstantTime.equal(request.pathParameters["secret"] ?? "", secret) else {
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

/// The routes runtimes and providers call. Added by the composition root to the API's router, whose
/// middleware (authentication, metrics, logs) covers them too.
public enum RuntimeRoutes {
    /// Always routed; without `PUBLIC_URL` (no rule registered) every secret is unknown: 404.
    /// `selfService`: the runtimes' own routes, where the services run in this process.
    public static func add(_ router: inout Router, railwayWebhook webhook: RailwayWebhook?, selfService: SelfService? = nil,
                           proxy: ServicesProxy? = nil, inbound: InboundWebhooks? = nil) {
        selfService?.add(&router)
        proxy?.add(&router)
        inbound?.add(&router)
        router.add("POST", "/webhooks/railway/:secret") { request in
            guard let webhook else { throw HTTPError.notFound("no such webhook") }
            return try await webhook.handle(request)
        }
    }
}
