import Foundation
import HTTPServer
import Postgres
import Providers
import Resources
import Simulator
import Sync
import API
import Reconcile
import RuntimeAPI
import Services
import Store
import Telemetry

/// The composition root: builds and starts everything `serve` runs, from one configuration.
/// `main` and the end-to-end tests both start the controller through here.
public final class Controller: Sendable {
    public let configuration: ServeConfiguration
    public let logger: Logger
    public let db: PostgresPool
    /// The claims' own connections (`ControllerAPI.claimDB`).
    private let claimDB: PostgresPool
    public let store: ResourceStore
    public let server: HTTPServer
    /// The routes `server` serves, for in-process callers that skip the socket (the apply fuzzer).
    public let router: Router
    public let services: any ServicesClient
    public let providers: ProviderSet
    /// The in-process simulated cloud of `serve --simulate`, if any.
    public let simulator: Simulator?
    public let reconciler: Reconciler
    /// Owns every long-lived task of the process (the reconcile loop, lease renewal, tool audits,
    /// the webhook registration) as children of one task group; `shutdown` waits for them all.
    public let supervisor: TaskSupervisor
    /// The reconcile loop, a child of `supervisor`, awaited first on shutdown.
    private let loop: TaskSupervisor.Child
    private let listener: PostgresListener?
    private let localServices: InProcessServices?
    private let registration: WebhookRegistration?
    /// The Kubernetes API's watches on this replica.
    package let watches: KubeWatches

    public var port: Int { server.port }


    /// Starts everything. With `simulate`, the simulated cloud starts first, on loopback, and every
    /// provider points at it; otherwise providers come from the environment.
    public static func start(_ configuration: ServeConfiguration, logger: Logger, environment: [String: String] = [:],
                             simulate: Bool = false, simulatorOptions: SimulatorOptions = SimulatorOptions(),
                             reconcilerSettings: ReconcilerSettings? = nil, clock: any Clock = SystemClock()) async throws -> Controller {
        let supervisor = TaskSupervisor()
        let simulator = simulate ? try await Simulator(options: simulatorOptions) : nil
        if let simulator { logger.info("simulated cloud started", ["url": simulator.baseURL]) }
        let providers = simulator.map { ProviderSet.simulated($0, railwayTokens: configuration.simulatedRailwayTokens) }
            ?? ProviderSet.fromEnvironment(environment)
        let db = PostgresPoolFactory.make(configuration.databaseURL, size: configuration.databasePoolSize)
        let applied = try await Migrations.migrator.migrate(db)
        if !applied.isEmpty { logger.info("migrations applied", ["versions": applied.map(String.init).joined(separator: ",")]) }
        let store = ResourceStore(db: db)
        if let minIdle = configuration.poolMinIdle {
            try await ensureDefaultPool(store, minIdle: minIdle, image: configuration.services.image, logger: logger)
        }

        let services: any ServicesClient
        var local: InProcessServices?
        // The reconciler's wake-up, made first: services (made before the reconciler) fire it when a
        // hand-over is done, so an agent turns Ready at once.
        let wakeup = Wakeup(clock: clock)
        if let remote = configuration.servicesURL, let url = URL(string: remote) {
            services = RemoteServices(base: url, token: configuration.servicesAPIKey ?? configuration.apiToken)
        } else {
            var settings = configuration.services
            // The simulated runtimes reach this controller on loopback.
            if simulator != nil, settings.runtimeServicesURL == nil, configuration.port != 0 {
                settings.runtimeServicesURL = "http://127.0.0.1:\(configuration.port)"
            }
            settings.observe.webhooks = configuration.publicURL != nil
            // The controller's own tokens never belong in a runtime.
            settings.forbiddenValues += [configuration.apiToken, configuration.poolAPIKey, configuration.servicesAPIKey].compactMap { $0 }
            settings.observe.resyncInterval = WorkQueue.seconds(configuration.resyncInterval)
            settings.observe.minPollInterval = max(1, WorkQueue.seconds(configuration.reconcileInterval))
            let inProcess = InProcessServices(db: db, providers: providers, settings: settings,
                                              supervisor: supervisor, clock: clock, deliveries: WakeOnDelivery(wakeup: wakeup))
            try await inProcess.loadBankrKeys()
            services = inProcess
            local = inProcess
        }
        var settings = reconcilerSettings ?? ReconcilerSettings()
        if reconcilerSettings == nil {
            settings.releaseHeap = {
                Allocator.release { took in logger.info("heap released", ["ms": String(format: "%.1f", took.timeInterval * 1000)]) }
            }
            settings.interval = configuration.reconcileInterval
            settings.leaseDuration = configuration.leaseDuration
            settings.renewEvery = configuration.leaseDuration / 3
            settings.drainTimeout = configuration.drainTimeout
            settings.planner.stuckAfter = Double(configuration.stuckTimeout.components.seconds)
            settings.planner.failureLimit = configuration.failureLimit
            settings.planner.failureWindow = Double(configuration.failureWindow.components.seconds)
            settings.eventRetention = configuration.eventRetention
            settings.eventLimit = configuration.eventLimit
            settings.changeRetention = configuration.changeRetention
        }
        let holder = "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8))"
        let metrics = Metrics()
        let claimWaiters = ClaimWaiters(clock: clock)
        let configuredBroadcast = ConfiguredBroadcast(db: db, local: claimWaiters)
        let reconciler = Reconciler(db: db, services: services, ghcr: providers.ghcr, logger: logger, holder: holder, settings: settings,
                                    metrics: metrics, clock: clock, supervisor: supervisor, wakeup: wakeup, listener: configuredBroadcast)
        let claimDB = PostgresPoolFactory.make(configuration.databaseURL, size: configuration.claimPoolSize)
        // Open and ready before the first claim: opened on demand, the first claims of a burst
        // waited for connections being made (up to 171 ms at 200/s).
        await claimDB.warm(configuration.claimPoolSize, preparing: [Claims.claimNewStatement])
        let status = StatusService(db: db, claimDB: claimDB, reconciler: reconciler, providers: providers, services: local, clock: clock)
        // The Kubernetes API's watches: one reader of the change log for all of them, woken by NOTIFY.
        let watches = KubeWatches(db: db, clock: clock)
        await watches.start(in: supervisor)
        // Apply, claim and delete wake this replica's reconciler directly and, through NOTIFY, the
        // leader's wherever it runs. A hint: polling every interval stays correct without it.
        // NOTIFY convos_configured carries agent names: claims waiting on another replica answer at once.
        // NOTIFY convos_railway_event carries an instance id a Railway event named: its status is looked at next.
        let localForEvents = local
        let listener = PostgresListener(url: configuration.databaseURL,
                                        channels: ["convos_reconcile", "convos_configured", "convos_railway_event"]) { channel, payload in
            switch channel {
            case "convos_configured": for agent in ConfiguredBroadcast.agents(in: payload) { claimWaiters.signal(agent) }
            case "convos_railway_event":
                Task {
                    await localForEvents?.observer.hint(payload)
                    reconciler.wake()
                }
            default:
                // Apply, claim or delete on some replica: watchers here see it at once.
                reconciler.wake()
                watches.poke()
            }
        }
        let notifier = Notifier(db: db, clock: clock)
        var auth = APIAuth(controllerToken: configuration.apiToken, poolKey: configuration.poolAPIKey, servicesKey: configuration.servicesAPIKey)
        if let local {
            auth.runtimeInstance = { @Sendable token in try await local.instance(forServicesToken: token) }
        }
        let sessions = Sessions(db: db, clock: clock)
        auth.session = { @Sendable request in try? await sessions.find(request) }
        var api = ControllerAPI(store: store, health: Health(db: db), services: services, auth: auth, logger: logger,
                      waker: WriteWaker(reconciler: reconciler, notifier: notifier, watches: watches), status: status, metrics: metrics,
                      claimWait: configuration.claimWait, claimWaiters: claimWaiters, servesServices: local != nil, claims: reconciler)
        api.claimDB = claimDB
        api.planner = settings.planner
        api.watches = watches
        api.clock = clock
        var webhookPath: String?
        var railwayWebhook: RailwayWebhook?
        if let local, configuration.publicURL != nil {
            let secret = try await local.webhookSecret(configured: configuration.webhookSecret)
            railwayWebhook = RailwayWebhook(db: db, secret: secret)
            webhookPath = "/webhooks/railway/" + secret
        }
        var http = HTTPServerConfiguration()
        http.host = configuration.bindAddress
        http.port = configuration.port
        http.tls = try configuration.tlsCredentials(logger: logger)
        var router = api.router()
        var selfService: SelfService?
        var proxy: ServicesProxy?
        var inbound: InboundWebhooks?
        // Inbound events are delivered by a loop every replica runs (rows are claimed one by one),
        // woken by a webhook here, else every second.
        let inboundWakeup = Wakeup(clock: clock)
        if let local {
            inbound = InboundWebhooks(services: local,
                                      agentMailSecret: configuration.agentMailWebhookSecret ?? (simulator != nil ? Simulator.agentMailWebhookSecret : nil),
                                      telnyxPublicKey: configuration.telnyxPublicKey ?? (simulator != nil ? Simulator.telnyxPublicKey : nil),
                                      clock: clock, metrics: metrics, wake: { await inboundWakeup.fire() })
            _ = supervisor.spawn("inbound delivery") {
                while !Task.isCancelled {
                    await local.deliverInbound()
                    await inboundWakeup.wait(timeout: .seconds(1))
                }
            }
            proxy = ServicesProxy(db: db, services: local, metrics: metrics, clock: clock, readsPerMinute: configuration.proxyReadsPerMinute)
            let key = try configuration.attestationKey()
            selfService = SelfService(db: db, services: local, store: store, waker: WriteWaker(reconciler: reconciler, notifier: notifier, watches: watches),
                                      metrics: metrics, attestation: key, clock: clock, perMinute: configuration.runtimeCallsPerMinute)
        }
        RuntimeRoutes.add(&router, railwayWebhook: railwayWebhook, selfService: selfService, proxy: proxy, inbound: inbound)
        let server = try HTTPServer(configuration: http, responder: router)
        // The notification rule, registered once (found first) and retried until Railway takes it.
        var registration: WebhookRegistration?
        if let local, let path = webhookPath, let base = configuration.publicURL, providers.railway.tokens.count > 0 {
            // A loopback PUBLIC_URL on port 0 (tests) means this server's own port.
            let root = base.hasSuffix(":0") ? String(base.dropLast(2)) + ":\(server.port)" : base
            registration = WebhookRegistration.start(services: local, url: root + path, logger: logger, in: supervisor)
        }
        // AgentMail's webhook and the Telnyx profile's webhook URL, found first, never duplicated.
        // (A child of the supervisor: shutdown cancels it if it is still trying.)
        if let local, let inbound, let base = configuration.publicURL {
            let root = base.hasSuffix(":0") ? String(base.dropLast(2)) + ":\(server.port)" : base
            _ = WebhookRegistration.start("inbound webhooks", logger: logger, in: supervisor) {
                let found = try await local.ensureInboundWebhooks(base: root)
                if let secret = found.agentMailSecret { inbound.useRegisteredSecret(secret) }
                return !found.created.isEmpty
            }
        }
        // Runtimes call this controller back at POOL_URL; the simulated cloud's reach it on loopback.
        if let local {
            if simulator != nil { local.defaultPoolURL("http://127.0.0.1:\(server.port)") }
            // A loopback URL on port 0 (tests) means this server's own port.
            local.poolURL.withLock { url in
                if let u = url, u.hasSuffix(":0") { url = String(u.dropLast(2)) + ":\(server.port)" }
            }
            if local.poolURL.withLock({ $0 }) == nil {
                logger.warning("POOL_URL and PUBLIC_URL are unset: runtimes get no POOL_URL, so their self-service and services proxy calls cannot reach the controller")
            }
        }
        logger.info("listening", ["address": "\(configuration.bindAddress):\(server.port)", "scheme": server.isTLS ? "https" : "http",
                                  "auth": configuration.apiToken == nil ? "none (loopback only)" : "bearer token"])
        let loop = supervisor.spawn("reconciler") { await reconciler.run() }
        return Controller(configuration: configuration, logger: logger, db: db, claimDB: claimDB, store: store, server: server, router: router,
                          services: services, providers: providers, simulator: simulator, reconciler: reconciler,
                          supervisor: supervisor, loop: loop,
                          listener: listener, localServices: local, registration: registration, watches: watches)
    }

    private init(configuration: ServeConfiguration, logger: Logger, db: PostgresPool, claimDB: PostgresPool, store: ResourceStore, server: HTTPServer, router: Router,
                 services: any ServicesClient, providers: ProviderSet, simulator: Simulator?, reconciler: Reconciler, supervisor: TaskSupervisor, loop: TaskSupervisor.Child,
                 listener: PostgresListener?, localServices: InProcessServices?, registration: WebhookRegistration?, watches: KubeWatches) {
        self.registration = registration
        self.watches = watches
        self.listener = listener
        self.localServices = localServices
        self.reconciler = reconciler
        self.supervisor = supervisor
        self.loop = loop
        self.services = services
        self.providers = providers
        self.simulator = simulator
        self.configuration = configuration
        self.logger = logger
        self.db = db
        self.claimDB = claimDB
        self.store = store
        self.server = server
        self.router = router
    }

    /// Stops taking requests, finishes those in flight, closes the database pool.
    public func shutdown() async {
        logger.info("shutting down: draining requests and actions")
        await reconciler.stop()
        await registration?.stop()
        await watches.shutdown()
        await server.shutdown()
        await loop.value()
        await localServices?.shutdown()
        // Whatever is left (an audit between pages) is cancelled, and every child has returned.
        await supervisor.shutdown()
        listener?.stop()
        await simulator?.shutdown()
        await claimDB.close()
        await db.close()
        logger.info("stopped")
    }

    /// `POOL_MIN_IDLE`: when no pool exists at start, create `default` with that `minIdle`.
    package static func ensureDefaultPool(_ store: ResourceStore, minIdle: Int, image: String, logger: Logger) async throws {
        guard try await store.list(.pool).isEmpty else { return }
        let manifest = Manifest(
            kind: .pool, name: "default", labels: [:], resourceVersion: nil,
            spec: try JSONValue.from(PoolSpec(minIdle: minIdle, maxInstances: max(minIdle, PoolSpec.defaultMaxInstances), image: image)),
            document: 1, mark: .none)
        do {
            _ = try await store.apply([manifest], mode: .createOnly)
            logger.info("created pool/default from POOL_MIN_IDLE", ["minIdle": String(minIdle)])
        } catch StoreError.alreadyExists {
            // Another replica created it first.
        }
    }
}
