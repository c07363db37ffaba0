import Foundation
import Postgres
import Store
import Providers
import Resources
import Sync
import Reconcile
import Services
import Telemetry

/// The `/status` summary. On the leader it comes from the reconciler's memory of its last tick;
/// on a follower from one small read, cached for a second. Either way, cheap to poll every second.
public actor StatusService {
    package let db: PostgresPool
    /// The claims' own connections, reported beside `db`'s.
    package let claimDB: PostgresPool?
    package let reconciler: Reconciler
    package let providers: ProviderSet
    private var cache: (at: ContinuousClock.Instant, value: Observed)?
    /// What "now" is for the quota waits shown.
    package let clock: any Clock

    package struct Observed: Sendable {
        package var instances: [String: [String: Int]]
        package var agents: [String: Int]
        package var leader: Leader?
        /// Failing keys: the leader's own queue, or what the leader wrote (`pool.action_backoffs`).
        package var backoffs: [String: WorkQueue.KeyState]
    }

    package struct Leader: Codable, Sendable {
        package var identity: String
        package var fencingToken: Int
        package var leaseExpiresAt: String
    }

    public struct Report: Encodable, Sendable {
        package struct Tick: Encodable { let at: String?; let durationMs: Double?; let actions: Int; let count: Int; let phasesMs: [String: Double] }
        package struct Backoff: Encodable { let key: String; let action: String?; let failures: Int; let lastError: String?; let nextAttempt: String? }
        /// `quota`: what the provider's headers and 429s said, one entry per credential (Railway: per
        /// token of the pool, by index; never a token's value).
        package struct Provider: Encodable {
            package let name: String; let breaker: String; let breakerOpens: Int; let calls: Int; let errors: Int; let retries: Int
            package let quota: [Quota]
        }
        package struct Quota: Encodable {
            package let credential: Int; let limit: Int?; let remaining: Int?; let resetAt: String?; let blockedUntil: String?
            package let nextProjectCreate: String?
        }
        /// How Railway is observed (webhooks or polling), on the replica that runs the services.
        package struct Observe: Encodable {
            package let mode: String; let lastResync: String?; let resyncIntervalSeconds: Double; let pollIntervalSeconds: Double; let inTransition: Int
        }
        /// A connection pool of this replica: its size, connections borrowed now, and the checkouts
        /// that waited for one (since start).
        package struct Database: Encodable {
            package let connections: Int; let borrowed: Int; let checkouts: Int; let checkoutWaits: Int; let checkoutWaitedMs: Double
            package let longestCheckoutWaitMs: Double
        }
        package let leader: Leader?
        package let thisReplica: String
        package let isLeader: Bool
        package let pools: [String: [String: Int]]
        package let agents: [String: Int]
        package let lastTick: Tick
        package let queueDepth: Int
        package let backoffs: [Backoff]
        package let providers: [Provider]
        package let railway: Observe?
        /// The shared pool, and the claims' own (`DATABASE_CLAIM_POOL_SIZE`; nil when claims share it).
        package let database: Database
        package let claimDatabase: Database?
    }

    /// The services' observing of Railway, when they run in this process.
    package let observe: (@Sendable () async -> (RailwayObserver.Report, ObserveSettings))?

    public init(db: PostgresPool, claimDB: PostgresPool? = nil, reconciler: Reconciler, providers: ProviderSet, services: InProcessServices? = nil, clock: any Clock = SystemClock()) {
        self.clock = clock
        if let local = services {
            self.observe = { @Sendable () async -> (RailwayObserver.Report, ObserveSettings) in
                (await local.observeReport(), local.settings.observe)
            }
        } else {
            self.observe = nil
        }
        self.db = db
        self.claimDB = claimDB
        self.reconciler = reconciler
        self.providers = providers
    }

    package func report() async throws -> Report {
        let snapshot = await reconciler.snapshot
        let observed = try await observed(snapshot)
        let railway = await observeReport()
        let pool = await db.checkoutStats
        let claimPool = await claimDB?.checkoutStats
        return Report(
            leader: observed.leader, thisReplica: reconciler.lease.holder, isLeader: snapshot.isLeader,
            pools: observed.instances, agents: observed.agents,
            lastTick: .init(at: snapshot.lastTick.map(ISO8601.format), durationMs: snapshot.lastTickDuration.map { Metrics.seconds($0) * 1000 },
                            actions: snapshot.lastActions, count: snapshot.ticks,
                            phasesMs: snapshot.lastTickPhases.mapValues { Metrics.seconds($0) * 1000 }),
            queueDepth: snapshot.queueDepth,
            backoffs: observed.backoffs.sorted { $0.key < $1.key }.map { key, state in
                .init(key: key, action: state.action, failures: state.failures, lastError: state.lastError, nextAttempt: state.nextAttempt.map(ISO8601.format))
            },
            providers: providerStats.map { name, stats, breaker in
                .init(name: name, breaker: breaker.state.rawValue, breakerOpens: breaker.opens, calls: stats.total,
                      errors: stats.total - stats.count(outcome: "ok"), retries: stats.retries, quota: quotas(name))
            },
            railway: railway,
            database: Self.database(pool), claimDatabase: claimPool.map(Self.database))
    }

    private static func database(_ pool: PostgresPool.CheckoutStats) -> Report.Database {
        .init(connections: pool.size, borrowed: pool.borrowed, checkouts: pool.checkouts, checkoutWaits: pool.waits,
              checkoutWaitedMs: Metrics.seconds(pool.waited) * 1000, longestCheckoutWaitMs: Metrics.seconds(pool.longestWait) * 1000)
    }

    private func observeReport() async -> Report.Observe? {
        guard let (report, _) = await observe?() else { return nil }
        return Report.Observe(mode: report.mode, lastResync: report.lastResync.map(ISO8601.format), resyncIntervalSeconds: report.resyncIntervalSeconds,
                              pollIntervalSeconds: report.pollIntervalSeconds, inTransition: report.inTransition)
    }

    /// Each credential's quota as its provider last said it.
    package nonisolated func quotas(_ provider: String) -> [Report.Quota] {
        let now = clock.now
        func quota(_ i: Int, _ q: QuotaGate.Snapshot, next: Date? = nil) -> Report.Quota {
            Report.Quota(credential: i, limit: q.limit, remaining: q.remaining, resetAt: q.resetAt.map(ISO8601.format),
                         blockedUntil: q.blockedUntil.flatMap { $0 > now ? ISO8601.format($0) : nil },
                         nextProjectCreate: next.flatMap { $0 > now ? ISO8601.format($0) : nil })
        }
        if provider == "railway" { return providers.railway.tokens.snapshot.map { quota($0.index, $0.quota, next: $0.nextProjectCreate) } }
        let gate: QuotaGate? = switch provider {
        case "ghcr": providers.ghcr.quota
        case "openrouter": providers.openRouter.quota
        case "agentmail": providers.agentMail.quota
        case "telnyx": providers.telnyx.quota
        case "bankr": providers.bankr.quota
        default: nil
        }
        return gate.map { [quota(0, $0.snapshot)] } ?? []
    }

    package nonisolated var providerStats: [(String, ProviderStats, CircuitBreaker)] {
        [("railway", providers.railway.stats, providers.railway.breaker), ("ghcr", providers.ghcr.stats, providers.ghcr.breaker),
         ("openrouter", providers.openRouter.stats, providers.openRouter.breaker), ("agentmail", providers.agentMail.stats, providers.agentMail.breaker),
         ("telnyx", providers.telnyx.stats, providers.telnyx.breaker), ("bankr", providers.bankr.stats, providers.bankr.breaker)]
    }

    private func observed(_ snapshot: ReconcilerSnapshot) async throws -> Observed {
        if let cache, ContinuousClock.now - cache.at < .seconds(1) { return cache.value }
        let lease = try await FleetSummary.leader(db).map {
            Leader(identity: $0.holder, fencingToken: $0.fencingToken, leaseExpiresAt: ISO8601.format($0.expiresAt))
        }
        var value = Observed(instances: snapshot.instances, agents: snapshot.agents, leader: lease, backoffs: snapshot.backoffs)
        if !snapshot.isLeader || snapshot.ticks == 0 {
            // A follower keeps no tick state: two grouped counts instead.
            value.instances = try await FleetSummary.instances(db)
            value.backoffs = [:]
            for b in try await FleetSummary.backoffs(db) {
                value.backoffs[b.key] = WorkQueue.KeyState(failures: b.failures, lastError: b.lastError, nextAttempt: b.nextAttempt, action: b.action)
            }
            value.agents = Dictionary(uniqueKeysWithValues: AgentPhase.allCases.map { ($0.rawValue, 0) })
            value.agents.merge(try await FleetSummary.agentPhases(db)) { _, stored in stored }
        }
        cache = (.now, value)
        return value
    }

    /// `GET /metrics`: the registry plus gauges read from the same summary.
    package func metricsText(_ metrics: Metrics) async throws -> String {
        let r = try await report()
        var gauges: [Metrics.Gauge] = []
        for (pool, states) in r.pools {
            for (state, n) in states { gauges.append(.init(name: "convos_instances", help: "Instances by pool and state.", labels: ["pool": pool, "state": state], value: Double(n))) }
        }
        for (phase, n) in r.agents { gauges.append(.init(name: "convos_agents", help: "Agents by phase.", labels: ["phase": phase], value: Double(n))) }
        gauges.append(.init(name: "convos_queue_depth", help: "Reconcile actions running now.", value: Double(r.queueDepth)))
        gauges.append(.init(name: "convos_backoff_keys", help: "Resources whose actions are backing off after failures.", value: Double(r.backoffs.count)))
        gauges.append(.init(name: "convos_leader", help: "1 when this replica holds the reconciler lease.", value: r.isLeader ? 1 : 0))
        for (name, stats, breaker) in providerStats {
            for (key, counter) in stats.calls {
                let parts = key.split(separator: "|").map(String.init)
                let labels = ["provider": name, "operation": parts[0], "outcome": parts.count > 1 ? parts[1] : ""]
                gauges.append(.init(name: "convos_provider_calls_total", help: "Provider calls by operation and outcome.", type: "counter", labels: labels, value: Double(counter.count)))
                gauges.append(.init(name: "convos_provider_call_seconds_total", help: "Time spent in provider calls, by operation and outcome.", type: "counter", labels: labels, value: counter.latencySeconds))
            }
            for q in quotas(name) {
                let labels = ["provider": name, "credential": String(q.credential)]
                if let remaining = q.remaining {
                    gauges.append(.init(name: "convos_provider_quota_remaining", help: "Requests left in the provider's quota window, per credential.",
                                        labels: labels, value: Double(remaining)))
                }
                if let limit = q.limit {
                    gauges.append(.init(name: "convos_provider_quota_limit", help: "The provider's quota per window, per credential.",
                                        labels: labels, value: Double(limit)))
                }
                gauges.append(.init(name: "convos_provider_quota_blocked", help: "1 while the provider's quota holds calls back, per credential.",
                                    labels: labels, value: q.blockedUntil == nil ? 0 : 1))
            }
            gauges.append(.init(name: "convos_provider_retries_total", help: "Retries made by the HTTP client, per provider.", type: "counter", labels: ["provider": name], value: Double(stats.retries)))
            for state in ["closed", "open", "halfOpen"] {
                gauges.append(.init(name: "convos_provider_breaker_state", help: "Circuit breaker state per provider (1 for the current one).",
                                    labels: ["provider": name, "state": state], value: breaker.state.rawValue == state ? 1 : 0))
            }
        }
        return metrics.render(gauges: gauges)
    }
}
