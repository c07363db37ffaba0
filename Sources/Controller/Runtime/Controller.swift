import Foundation
import HTTPServer
import Postgres
import Resources

/// The composition root: builds and starts everything `serve` runs, from one configuration.
/// `main` and the end-to-end tests both start the controller through here.
public final class Controller: Sendable {
    public let configuration: ServeConfiguration
    public let logger: Logger
    public let db: PostgresPool
    public let store: ResourceStore
    public let server: HTTPServer

    public var port: Int { server.port }

    /// The image a pool created from `POOL_MIN_IDLE` runs.
    public static let defaultImage = "ghcr.io/xmtplabs/convos-agent-runtime:production"

    public static func start(_ configuration: ServeConfiguration, logger: Logger) async throws -> Controller {
        let db = PostgresPoolFactory.make(configuration.databaseURL)
        let applied = try await Migrations.migrator.migrate(db)
        if !applied.isEmpty { logger.info("migrations applied", ["versions": applied.map(String.init).joined(separator: ",")]) }
        let store = ResourceStore(db: db)
        if let minIdle = configuration.poolMinIdle { try await ensureDefaultPool(store, minIdle: minIdle, logger: logger) }

        let api = API(store: store, health: Health(db: db), token: configuration.apiToken, logger: logger)
        var http = HTTPServerConfiguration()
        http.host = configuration.bindAddress
        http.port = configuration.port
        let server = try HTTPServer(configuration: http, responder: api.router())
        logger.info("listening", ["address": "\(configuration.bindAddress):\(server.port)",
                                  "auth": configuration.apiToken == nil ? "none (loopback only)" : "bearer token"])
        return Controller(configuration: configuration, logger: logger, db: db, store: store, server: server)
    }

    private init(configuration: ServeConfiguration, logger: Logger, db: PostgresPool, store: ResourceStore, server: HTTPServer) {
        self.configuration = configuration
        self.logger = logger
        self.db = db
        self.store = store
        self.server = server
    }

    /// Stops taking requests, finishes those in flight, closes the database pool.
    public func shutdown() async {
        logger.info("shutting down: draining requests")
        await server.shutdown()
        await db.close()
        logger.info("stopped")
    }

    /// `POOL_MIN_IDLE`: when no pool exists at start, create `default` with that `minIdle`.
    static func ensureDefaultPool(_ store: ResourceStore, minIdle: Int, logger: Logger) async throws {
        guard try await store.list(.pool).isEmpty else { return }
        let manifest = Manifest(
            kind: .pool, name: "default", labels: [:], resourceVersion: nil,
            spec: try JSONValue.from(PoolSpec(minIdle: minIdle, maxInstances: max(minIdle, PoolSpec.defaultMaxInstances), image: defaultImage)),
            document: 1, mark: .none)
        do {
            _ = try await store.apply([manifest], mode: .createOnly)
            logger.info("created pool/default from POOL_MIN_IDLE", ["minIdle": String(minIdle)])
        } catch StoreError.conflict {
            // Another replica created it first.
        }
    }
}
