import Foundation
import Postgres
import Providers
import Resources
import Sync
import Store

/// The services API carried out in this process, over the `services` schema, the providers and the
/// runtimes (CONTRACT.md sections 5 and 6). Its parts, one concern a file: create, status, provision,
/// runtime calls, teardown.
///
/// Crash safety: each external create is preceded by a committed intent row, and every external
/// name derives from the instance id, so after a crash at any point the next call finds what was
/// made and adopts it. Provider ids and runtime secrets live only in the `services` schema.
public struct InProcessServices: ServicesClient {
    /// Fenced while a reconciler action calls (`ServicesDB`).
    package let db: ServicesDB
    package let providers: ProviderSet
    package let settings: ServicesSettings
    /// One runtime conversation at a time per instance, and the hand-over of variables to it.
    package let handoff: RuntimeHandoff
    /// Told when a hand-over reached a runtime (the reconciler wakes: the agent turns Ready now).
    package let deliveries: any DeliveryListener
    /// Runtimes that said ready lately: the status batch pings the steady fleet only once a while.
    package let health: HealthCache
    /// What of Railway to look at in each status batch (events, transitions, resync).
    package let observer: RailwayObserver
    /// Pings the steady fleet beside the ticks (the reconciler asks the batch only about the rest).
    package let sweep: HealthSweep
    /// Telnyx numbers searched lately, one to each order.
    package let numbers = NumberCandidates()
    /// The audit of tools at their providers, run after each resync.
    package let audit: ToolAudit
    /// Time for quota waits and health freshness.
    package let clock: any Clock
    /// `POOL_URL` of new runtimes: `settings.poolURL`, or set once the controller knows its own address.
    package let poolURL: Locked<String?>

    /// `supervisor` owns the background audits: the controller's, or one of its own when made alone.
    public init(db: PostgresPool, providers: ProviderSet, settings: ServicesSettings = ServicesSettings(),
                supervisor: TaskSupervisor = TaskSupervisor(), clock: any Clock = SystemClock(),
                deliveries: any DeliveryListener = NoDeliveryListener()) {
        self.clock = clock
        self.audit = ToolAudit(supervisor: supervisor)
        self.db = ServicesDB(pool: db)
        self.providers = providers
        self.settings = settings
        self.handoff = RuntimeHandoff()
        self.deliveries = deliveries
        self.health = HealthCache(ttl: settings.healthTTL)
        self.sweep = HealthSweep(ttl: settings.healthTTL, rate: settings.healthSweepRate)
        self.observer = RailwayObserver(settings: settings.observe)
        self.poolURL = Locked(settings.poolURL)
    }

    /// Sets `POOL_URL` for runtimes made from now on, unless configured: the simulated cloud's
    /// runtimes call this controller on its loopback port, known only once it listens.
    public func defaultPoolURL(_ url: String) {
        poolURL.withLock { if $0 == nil { $0 = url } }
    }

    /// Loads `BANKR_KEYS` into the pool; known keys are left as they are.
    public func loadBankrKeys() async throws {
        for key in providers.bankrKeys {
            _ = try await db.query("INSERT INTO services.bankr_keys (api_key) VALUES ($1) ON CONFLICT (api_key) DO NOTHING", [key])
        }
    }

    /// Stops the tool audit, and waits for variable hand-overs in flight, so none is cut off.
    public func shutdown() async {
        await observer.shutdown()
        await sweep.shutdown()
        await audit.shutdown()
        await handoff.shutdown()
    }

    public func registry() async throws -> Registry { Registry.all }

    /// Waits for the look at Railway a status batch started (tests want what Railway says now).
    package func lookFinished() async { await observer.lookFinished() }

    /// Whether a look lists the whole fleet at Railway now (tests claim during one).
    package var isResyncing: Bool { get async { await observer.resyncing } }

    /// The instance a runtime's `INSTANCE_SERVICES_TOKEN` belongs to, if any. Tokens are 256 random
    /// bits, so looking one up by equality reveals nothing useful through timing.
    public func instance(forServicesToken token: String) async throws -> String? {
        try await db.query("SELECT instance_id FROM services.instances WHERE services_token = $1 AND state <> 'deleted'", [token])
            .first?.decode("instance_id")
    }

    public func storeUserConfig(agent: String, _ values: [String: String]) async throws {
        _ = try await db.query("""
            INSERT INTO services.user_configs (agent, config) VALUES ($1, $2::jsonb)
            ON CONFLICT (agent) DO UPDATE SET config = excluded.config
            """, [agent, JSONValue.object(values.mapValues(JSONValue.string)).jsonText])
    }

    public func forgetUserConfig(agent: String) async throws {
        _ = try await db.query("DELETE FROM services.user_configs WHERE agent = $1", [agent])
    }

    /// What the runtime calls need of an instance: its URL and its own key.
    package struct RuntimeTarget: Sendable {
        package let url: URL
        package let key: String?
    }

    package func runtimeTarget(_ instanceID: String) async throws -> RuntimeTarget {
        guard let row = try await db.query("SELECT url, runtime_key, state FROM services.instances WHERE instance_id = $1", [instanceID]).first else {
            throw ServicesError.notFound("instance \(instanceID) not found")
        }
        guard try row.decode("state", as: ServiceInstanceState.self) == .ready, let text: String = try row.decode("url"), let url = URL(string: text) else {
            throw ServicesError.conflict("instance \(instanceID) is not deployed yet")
        }
        return RuntimeTarget(url: url, key: try row.decode("runtime_key"))
    }

    /// The Railway project of a deployed instance, as recorded.
    package func project(_ instanceID: String) async throws -> RailwayProject {
        guard let row = try await db.query("""
            SELECT railway_project_id, railway_environment_id, railway_service_id, state FROM services.instances WHERE instance_id = $1
            """, [instanceID]).first else { throw ServicesError.notFound("instance \(instanceID) not found") }
        guard try row.decode("state", as: ServiceInstanceState.self) == .ready, let projectID: String = try row.decode("railway_project_id"),
              let serviceID: String = try row.decode("railway_service_id") else {
            throw ServicesError.conflict("instance \(instanceID) is not deployed yet")
        }
        return RailwayProject(id: projectID, name: externalName(instanceID: instanceID),
                              environmentID: try row.decode("railway_environment_id"), serviceID: serviceID)
    }

    /// Runs a provider call, turning its error into the services error the API answers with.
    package func provider<T: Sendable>(_ body: () async throws(ProviderError) -> T) async throws -> T {
        try await ProviderTool.call(body)
    }
}


/// Told when variables reached a runtime. The composition root passes one that wakes the reconciler.
public protocol DeliveryListener: Sendable {
    func delivered(instance: String)
}

/// Hears nothing: services made alone (tests) tell no one.
public struct NoDeliveryListener: DeliveryListener {
    public init() {}
    public func delivered(instance: String) {}
}
