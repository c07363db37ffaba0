import Foundation
import HTTPServer
import Postgres
import Reconcile
import Resources
import Sync
import Services
import Store
import Telemetry

/// The controller's HTTP API (CONTRACT.md section 4), as one router.
///
/// Built by the composition root; every route but the public ones requires the bearer token.
/// Store errors map to the contract's statuses here, in one place.
public struct ControllerAPI: Sendable {
    package let store: ResourceStore
    package let health: Health
    package let services: (any ServicesClient)?
    /// Wakes the reconciler after a change (apply, claim, delete).
    package let waker: any Waker
    package let status: StatusService?
    package let metrics: Metrics
    package let auth: APIAuth
    package let logger: Logger
    /// How long a claim waits for its invite when it does not say (`CLAIM_WAIT`).
    package let claimWait: Duration
    package let claimWaiters: ClaimWaiters
    /// Whether the services routes are served here (the services run in this process).
    package let servesServices: Bool
    /// Told of each agent a claim bound at once, so its runtime is configured without waiting for a tick.
    package let claims: any ClaimNotifier
    /// The planner's settings, for the actions a dry run would cause.
    package var planner = PlannerSettings()
    /// The Kubernetes API's watches on this replica.
    package var watches: KubeWatches?
    /// "Now" for what the API computes (a dry run's plan).
    package var clock: any Clock = SystemClock()
    /// The connections claims run on: the composition root gives them a pool of their own
    /// (`ServeConfiguration.claimPoolSize`), so a claim never waits for a connection behind the
    /// reconciler's actions (at 200 claims/s, 97% of checkouts from the shared pool waited, for
    /// 56 ms on average). The store's pool when none is given.
    package var claimDB: PostgresPool

    package init(store: ResourceStore, health: Health, services: (any ServicesClient)? = nil, auth: APIAuth, logger: Logger,
         waker: any Waker = NoListener(), status: StatusService? = nil, metrics: Metrics = Metrics(),
         claimWait: Duration = .seconds(60), claimWaiters: ClaimWaiters = ClaimWaiters(), servesServices: Bool = true,
         claims: any ClaimNotifier = NoListener()) {
        self.claims = claims
        self.waker = waker
        self.status = status
        self.metrics = metrics
        self.store = store
        self.services = services
        self.health = health
        self.auth = auth
        self.logger = logger
        self.claimWait = claimWait
        self.claimWaiters = claimWaiters
        self.servesServices = servesServices
        self.claimDB = store.db
    }

    public func router() -> Router {
        var router = Router()
        router.add("GET", "/healthz") { _ in .json(["status": "ok"]) }
        router.add("GET", "/openapi.json") { _ in .json(OpenAPIDocument.json) }
        router.add("GET", "/readyz") { _ in await health.readiness() }
        let metrics = self.metrics
        if let status = self.status {
            router.add("GET", "/status") { _ in .json(try await status.report()) }
            router.add("GET", "/metrics") { _ in
                .text(try await status.metricsText(metrics), contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
        }
        addEventRoutes(&router)
        addResourceRoutes(&router)
        addTemplateRoutes(&router)
        if servesServices { addServicesRoutes(&router) }
        addClaimRoutes(&router)
        addPoolRoutes(&router)
        addKubeRoutes(&router)
        addSessionRoutes(&router)
        addAppRoutes(&router)
        let auth = self.auth
        let logger = self.logger
        let waker = self.waker
        router.middleware = { request, pattern, next in
            let started = ContinuousClock.now
            switch await auth.check(request, pattern: pattern) {
            case .allow: break
            case .unauthorized:
                guard Self.isKube(pattern) else { throw HTTPError.unauthorized }
                return KubeStatus(code: 401, reason: .unauthorized, message: "Unauthorized: a bearer token is required").response
            case .forbidden(let message): throw HTTPError.forbidden(message)
            }
            var response: HTTPResponse
            do {
                response = try await next(request)
                if ["POST", "PUT", "PATCH", "DELETE"].contains(request.method), response.status < 300 { waker.wake() }
            } catch let error as StoreError {
                response = Self.httpError(error).response
            } catch let error as PostgresError where error.isUnstorableText {
                // The field checks refuse control characters where they know the field; this is
                // the floor under every other text, found by schemathesis as a 500.
                response = HTTPError.badRequest("a value holds a NUL character (\\u0000), which cannot be stored").response
            } catch let error as PostgresError where error.isUnavailable {
                logger.warning("database unavailable", ["requestId": request.requestID, "error": "\(error)"])
                response = HTTPError.unavailable("database unreachable; retry shortly").response
            }
            let elapsed = ContinuousClock.now - started
            metrics.increment("convos_http_requests_total", ["route": pattern, "method": request.method, "status": String(response.status)])
            metrics.observe("convos_http_request_duration_seconds", ["route": pattern], seconds: Metrics.seconds(elapsed))
            // Probes and scrapes are frequent and uneventful: debug. Everything else: info.
            let level: Logger.Level = ["/healthz", "/readyz", "/metrics"].contains(pattern) ? .debug : .info
            if level >= logger.level {
                logger.log(level, "request", ["requestId": request.requestID, "method": request.method, "route": pattern,
                                              "status": String(response.status), "ms": String(format: "%.2f", Metrics.seconds(elapsed) * 1000)])
            }
            response.headers.append(("X-Request-Id", request.requestID))
            return response
        }
        router.onError = { request, error in
            logger.error("unhandled error", ["requestId": request.requestID, "path": request.path, "error": "\(error)"])
        }
        return router
    }

    /// Routes of the Kubernetes API, whose errors are `Status` objects.
    package static func isKube(_ pattern: String) -> Bool {
        pattern.hasPrefix("/apis") || pattern.hasPrefix("/api/v1") || pattern == "/api" || pattern == "/version" || pattern.hasPrefix("/openapi/v3")
    }

    package static func httpError(_ error: StoreError) -> HTTPError {
        switch error {
        case .notFound: return .notFound(error.description)
        case .alreadyExists(let kind, let name):
            return .conflict(error.description, details: [detail(FieldError("metadata.name", "already exists", object: "\(kind.singular)/\(name)"))])
        case .conflict(let message, let details): return .conflict(message, details: details.map(detail))
        case .unprocessable(let message, let details): return .unprocessable(message, details: details.map(detail))
        }
    }

    package static func detail(_ e: FieldError) -> HTTPError.Detail {
        HTTPError.Detail(path: e.path, message: e.message, object: e.object, line: e.line, column: e.column)
    }

    package static func invalid(_ errors: ManifestErrors) -> HTTPError {
        let first = errors.errors.first.map(\.description) ?? "invalid input"
        let more = errors.errors.count > 1 ? " (and \(errors.errors.count - 1) more)" : ""
        return .badRequest(first + more, details: errors.errors.map(detail))
    }
}

/// Liveness and readiness, for Railway's health check and for people.
public struct Health: Sendable {
    package let db: PostgresPool

    public init(db: PostgresPool) { self.db = db }

    /// 200 when the database answers and its schema is the one this binary expects; 503 otherwise.
    package func readiness() async -> HTTPResponse {
        do {
            let current = try await Migrations.migrator.currentVersion(db)
            let latest = Migrations.migrator.latestVersion
            guard current == latest else {
                return HTTPError.unavailable("database schema is at version \(current); this binary needs \(latest)").response
            }
            return .json(["status": "ready", "schemaVersion": String(current)])
        } catch {
            return HTTPError.unavailable("database unreachable").response
        }
    }
}
