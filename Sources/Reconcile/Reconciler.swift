import Foundation
import Postgres
import Providers
import Resources
import Sync
import Services
import Store
import Telemetry

/// Tuning of the reconcile loop; the defaults are production's, tests shorten them.
public struct ReconcilerSettings: Sendable {
    public var interval: Duration = .seconds(5)
    public var leaseDuration: Duration = .seconds(6)
    public var renewEvery: Duration = .seconds(2)
    public var digestTTL: Duration = .seconds(30)
    public var planner = PlannerSettings()
    public var maxCreatesPerTick = 16
    /// Actions running at once. They wait on providers and runtimes, not on this process (each
    /// provider bounds its own calls in flight): fifty claims at once are 250 of them (a
    /// conversation and four tools each), and at 128 the last agents' tools waited seconds for a
    /// place. A quarter is kept for claimed agents (`WorkQueue`).
    public var maxActions = 512
    public var drainTimeout: Duration = .seconds(10)
    /// The longest a failing key waits before its next attempt.
    public var maxBackoff: Duration = .seconds(30)
    /// A key that failed for good (a plan limit, a missing credential) is tried again this late.
    public var failedRetry: Duration = .seconds(600)
    /// The whole of desired state and the instance rows is read again this often; between, a tick
    /// reads only the rows written since the last one (`FleetCache`).
    public var fullReadEvery: Duration = .seconds(600)
    /// A template's status counts its agents (how many are in sync, kept as they change): written
    /// when the template changes, and at most this often when only its agents do.
    public var templateStatusEvery: Duration = .seconds(5)
    /// A tick never starts sooner after the last one ended than this many times what the last one
    /// took. Every accepted write wakes the loop; under a stream of claims (hundreds a second, each
    /// configured at once beside the ticks, not by them) back-to-back ticks of a 40,000-instance
    /// fleet took a core from the claims. At 1, ticks take at most half a core; a small fleet's
    /// ticks of milliseconds are not held back noticeably.
    public var tickGap = 1
    /// Agents' statuses written to a transaction when a tick writes many (a new term writes every
    /// agent's): their encoded texts are never all held at once.
    public var statusWritesPerTransaction = 1000
    /// Off: the replica serves the API only and never competes for the lease.
    public var enabled = true
    /// Events older than this, or beyond the newest `eventLimit`, are deleted, once every `pruneEvery`.
    public var eventRetention: Duration = .seconds(7 * 86_400)
    public var eventLimit = 100_000
    /// Superseded changes older than this leave the change log (`CHANGE_RETENTION`).
    public var changeRetention: Duration = .seconds(3600)
    public var pruneEvery: Duration = .seconds(60)
    /// Called after a tick that read the whole fleet or listed it at Railway, and after one that
    /// found the work queue drained of `releaseAfterActions` actions or more since the last call (a
    /// new term's look at every runtime: 40,000 actions): the work that makes and frees the most.
    /// `serve` gives what it freed back to the system (`Allocator.release`).
    public var releaseHeap: @Sendable () -> Void = {}
    public var releaseAfterActions = 1_000
    public init() {}
}

/// What `/status` and tests read of the reconciler.
public struct ReconcilerSnapshot: Sendable {
    public var isLeader: Bool
    public var fencingToken: Int?
    public var ticks: Int
    public var lastTick: Date?
    public var lastTickDuration: Duration?
    /// Where the last tick's time went: `read` (rows and the status batch), `plan`, `submit`,
    /// `statuses` (computed and written); pruning runs beside the ticks, not in them.
    public var lastTickPhases: [String: Duration] = [:]
    public var lastActions: Int
    public var queueDepth: Int
    /// Instances by pool and state, and agents by phase, as of the last tick.
    public var instances: [String: [String: Int]] = [:]
    public var agents: [String: Int] = [:]
    /// Keys that are failing, with their count, last error and next attempt.
    public var backoffs: [String: WorkQueue.KeyState] = [:]
}

/// The reconciler: while it holds the lease, it ticks every `interval` (and at once when woken),
/// reads desired and observed state, plans, and hands the actions to the work queue.
public actor Reconciler {
    package let db: PostgresPool
    package let services: any ServicesClient
    package let ghcr: GHCRClient
    package let logger: Logger
    package let settings: ReconcilerSettings
    package let metrics: Metrics
    public nonisolated let lease: LeaderLease
    /// Time for the loop, the work queue and every decision; the lease keeps Postgres's own clock.
    package let clock: any Clock
    package let wakeup: Wakeup
    /// Told each agent whose conversation was just recorded (claims waiting for an invite).
    package let listener: any ConversationListener
    /// Slow start of each pool's creates.
    package let budget: CreateBudget
    /// Whether this replica leads, readable without a hop onto the actor (the claim path asks).
    private let leading = Locked(false)
    private var queue: WorkQueue?
    /// The current term's executor, beside `queue`.
    private var executor: Executor?
    /// The current term's copy of the fleet, beside `queue`.
    private var cache: FleetCache?
    /// What the last plan said to look at again whether it changes or not.
    private var watched = PlanScope()
    /// Templates whose agents changed since their statuses were last counted, and when that was.
    private var templatesDue = Set<String>()
    /// Each template's agents and those synced, kept as agents change.
    private var templateTally = TemplateTally()
    private var templatesCountedAt: Date?
    /// The term's queue's `finished` when the heap was last released (`releaseAfterActions`).
    private var finishedAtRelease = 0
    /// Renews the lease every `renewEvery` while leading, apart from the ticks: a slow tick (a
    /// large fleet, a loaded machine) never lets the lease run out. A child of `supervisor`,
    /// cancelled when the term ends.
    private var renewal: TaskSupervisor.Child?
    /// Owns the renewal task: the controller's supervisor, or one of its own when made alone.
    private let supervisor: TaskSupervisor
    private var leaseLost = false
    private var stopping = false
    private var digests: [String: (digest: String, at: Date)] = [:]
    /// Pools whose digest is being looked up (`refreshDigests`).
    private var resolving = Set<String>()
    private var orphansSeen: [String: Date] = [:]
    /// The failing keys as last written to `pool.action_backoffs`; nil at the start of a term,
    /// when the table is written whole.
    private var persistedBackoffs: [String: WorkQueue.KeyState]?
    /// When events were last pruned (`settings.eventRetention`); nil: at the first tick.
    private var prunedAt: Date?
    /// A prune runs (`pruneIfDue`).
    private var pruning = false
    private var snapshotValue = ReconcilerSnapshot(isLeader: false, fencingToken: nil, ticks: 0, lastTick: nil, lastTickDuration: nil, lastActions: 0, queueDepth: 0)

    public init(db: PostgresPool, services: any ServicesClient, ghcr: GHCRClient, logger: Logger, holder: String,
                settings: ReconcilerSettings = ReconcilerSettings(), metrics: Metrics = Metrics(), clock: any Clock = SystemClock(),
                supervisor: TaskSupervisor = TaskSupervisor(), wakeup: Wakeup? = nil,
                listener: any ConversationListener = NoListener()) {
        self.supervisor = supervisor
        self.clock = clock
        self.wakeup = wakeup ?? Wakeup(clock: clock)
        self.metrics = metrics
        self.listener = listener
        self.budget = CreateBudget(cap: settings.maxCreatesPerTick)
        self.db = db
        self.services = services
        self.ghcr = ghcr
        self.logger = logger.with(["component": "reconciler"])
        self.settings = settings
        self.lease = LeaderLease(db: db, holder: holder, duration: settings.leaseDuration, clock: clock)
    }

    /// Apply, claim and delete call this so the next tick starts now.
    public nonisolated func wake() { Task { await wakeup.fire() } }

    /// A claim on this replica just bound `agent` to an idle (so ready) instance: configure its
    /// runtime and provision `tools` (what its configuration declares, from the claim's own
    /// statement) now, without waiting for a tick to plan them (under fifty claims at once a tick
    /// came up to 4 s later, and the last tool's order with it). On a follower this does nothing;
    /// the leader's next tick plans them as always. Each action looks again before it calls.
    public nonisolated func claimed(agent: String, instance: String, tools: [ToolName]) {
        guard leading.withLock({ $0 }) else { return }
        Task { await self.startClaimed(agent: agent, instance: instance, tools: tools) }
    }

    private func startClaimed(agent: String, instance: String, tools: [ToolName]) async {
        guard let queue else { return }
        await queue.submit(.configure(agent: agent, instance: instance))
        for tool in tools {
            await queue.submit(.provisionTool(agent: agent, instance: instance, tool: tool))
        }
    }

    public var snapshot: ReconcilerSnapshot { snapshotValue }

    /// Whether a tick gives the freed heap back (`ReconcilerSettings.releaseHeap`): after it read
    /// the whole fleet or listed it, or once the queue has drained of `every` actions or more
    /// since the last release; never while actions run (they would fill it again).
    static func releasesHeap(wholeRead: Bool, listed: Bool, drained: Bool, actions: Int, every: Int) -> Bool {
        wholeRead || listed || (drained && actions >= every)
    }

    /// The loop; returns after `stop()`, with in-flight actions drained and the lease released.
    public func run() async {
        guard settings.enabled else { return }
        while !stopping {
            if leaseLost {
                leaseLost = false
                await stopLeading(reason: "lease lost")
                continue
            }
            if queue == nil {
                if await lease.tryAcquire(), let fence = await lease.fence() {
                    startLeading(fence)
                } else {
                    // Try again when the holder's lease runs out if that is sooner: a killed leader is
                    // replaced at its expiry, not up to renewEvery later (CrashTests measure it).
                    let left = await lease.timeLeft() ?? settings.renewEvery
                    await wakeup.wait(timeout: min(settings.renewEvery, left + .milliseconds(250)))
                    continue
                }
            }
            let tickStarted = clock.monotonic
            await tick()
            let tickEnded = clock.monotonic
            // The next tick comes at the interval, or sooner when an action asked to be looked at
            // again (an order pending, a backoff ending): a step follows the one before it at once,
            // not an interval later.
            var timeout = min(settings.interval, settings.renewEvery)
            if let due = await queue?.nextDue { timeout = min(timeout, .milliseconds(Int64(max(0, due.timeIntervalSince(clock.now)) * 1000) + 5)) }
            await wakeup.wait(timeout: timeout)
            // Woken sooner than the gap: wait out the rest (wake-ups meanwhile fold into this one).
            let rest = (tickEnded - tickStarted) * settings.tickGap - (clock.monotonic - tickEnded)
            if rest > .zero && !stopping { try? await clock.sleep(for: rest) }
        }
        if let queue {
            // Finish in-flight actions within the drain time, cancel the rest and wait for them,
            // then hand the lease over at once.
            await queue.shutdown(drain: settings.drainTimeout)
        }
        renewal?.cancel()
        await renewal?.value()
        renewal = nil
        await lease.release()
        leading.withLock { $0 = false }
        snapshotValue.isLeader = false
        logger.info("reconciler stopped")
    }

    public func stop() {
        stopping = true
        Task { await wakeup.fire() }
    }

    private func startLeading(_ fence: Fence) {
        logger.info("became leader", ["fencingToken": String(fence.token)])
        persistedBackoffs = nil
        let lease = self.lease, every = settings.renewEvery, clock = self.clock
        renewal = supervisor.spawn("lease-renewal") { [weak self] in
            while !Task.isCancelled {
                try? await clock.sleep(for: every)
                if Task.isCancelled { return }
                if await !lease.renew() {
                    await self?.lostLease()
                    return
                }
            }
        }
        let executor = Executor(db: db, fence: fence, services: services,
                                budget: budget, configured: listener,
                                crashLoop: (settings.planner.failureLimit, settings.planner.failureWindow))
        self.executor = executor
        cache = FleetCache(db: db, services: services)
        finishedAtRelease = 0
        watched = PlanScope()
        let log = logger
        let metrics = self.metrics
        queue = WorkQueue(limit: settings.maxActions, maxDelay: settings.maxBackoff, failedDelay: settings.failedRetry, clock: clock,
                          supervisor: supervisor,
                          run: { action in await executor.run(action) }, onDone: { [weak self] action, outcome in
            let result: String
            switch outcome {
            case .converged: result = "converged"
            case .requeue: result = "requeue"
            case .retry: result = "retry"
            case .failed: result = "failed"
            case .deferred: result = "deferred"
            }
            metrics.increment("convos_reconcile_actions_total", ["kind": action.kind, "outcome": result])
            let fields = ["action": action.kind, "kind": action.object.kind, "name": action.object.name]
            switch outcome {
            case .converged: log.info("action done", fields)
            case .requeue: log.debug("action requeued", fields)
            case .deferred(let after, _): log.debug("action deferred for quota", fields.merging(["seconds": String(Int(WorkQueue.seconds(after)))]) { a, _ in a })
            case .retry(let e), .failed(let e): log.warning("action failed", fields.merging(["error": e, "outcome": result]) { a, _ in a })
            }
            // Progress wakes the loop: the next step of the same object can start at once.
            if outcome == .converged { self?.wake() }
        })
        snapshotValue.isLeader = true
        snapshotValue.fencingToken = fence.token
        leading.withLock { $0 = true }
    }

    /// The renewal failed: the loop stops leading at its next turn, woken now.
    private func lostLease() {
        leaseLost = true
        Task { await wakeup.fire() }
    }

    private func stopLeading(reason: String) async {
        logger.warning("stopped leading", ["reason": reason])
        renewal?.cancel()
        renewal = nil
        await queue?.abandon()
        queue = nil
        executor = nil
        cache = nil
        leading.withLock { $0 = false }
        snapshotValue.isLeader = false
        snapshotValue.fencingToken = nil
    }

    package func tick() async {
        guard let queue, let cache, let fence = await lease.fence() else { return }
        let started = ContinuousClock.now
        var phases: [String: Duration] = [:]
        var mark = started
        func lap(_ phase: String) {
            let now = ContinuousClock.now
            phases[phase] = now - mark
            mark = now
        }
        do {
            let now = clock.now
            // The status batch is a read; what it saw change is recorded below and what it found to
            // do is planned. Its calls still carry this term's fence, as every action's do.
            let known = digests.mapValues(\.digest), window = settings.planner.failureWindow, watched = self.watched
            let fullEvery = WorkQueue.seconds(settings.fullReadEvery)
            var state = try await Fencing.$current.withValue(fence.term) {
                try await cache.read(now: now, digests: known, failureWindow: window, watched: watched, fullEvery: fullEvery)
            }
            if !state.observed.isEmpty {
                let services = self.services, observed = state.observed
                try await Fencing.$current.withValue(fence.term) { try await services.recordObserved(observed) }
            }
            lap("read")
            phases.merge(state.readPhases) { a, _ in a }
            // Digests from the pools this tick already read; a stale one is looked up beside the
            // ticks (GHCR answers in 200 ms: no tick waits on it).
            refreshDigests(state.input.pools)
            for i in state.input.pools.indices {
                state.input.pools[i].digest = digests[state.input.pools[i].name].map { state.digestTexts[$0.digest] ?? $0.digest }
            }
            for name in state.orphanNames where orphansSeen[name] == nil { orphansSeen[name] = now }
            orphansSeen = orphansSeen.filter { state.orphanNames.contains($0.key) }
            state.input.orphans = orphansSeen.map { OrphanView(instanceID: $0.key, firstSeen: $0.value) }
            state.input.settings = settings.planner
            state.input.settings.createBudget = await budget.budgets(for: state.input.pools.map(\.name))
            // What changed, with what the last plan watched: the rest of the fleet has nothing to do.
            let scope = state.changed.map { changed in var s = changed; s.formUnion(watched); return s }
            let plan = Planner.plan(state.input, scope: scope)
            self.watched = plan.watch
            let actions = plan.actions
            lap("plan")
            // A full queue takes what claims wait for first.
            // Planned from the read that began at `now`: keys that converged since are not run again.
            for action in actions.enumerated().sorted(by: { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }).map(\.element) {
                await queue.submit(action, plannedAt: now)
            }
            await queue.forgetConverged(before: now)
            lap("submit")
            try await writeStatuses(state, scope: scope, cache: cache, fence: fence, now: now, backoffs: await queue.backingOff)
            lap("statuses")
            let finished = await queue.finished
            if Self.releasesHeap(wholeRead: state.changed == nil, listed: state.input.auditDue, drained: await queue.depth == 0,
                                 actions: finished - finishedAtRelease, every: settings.releaseAfterActions) {
                finishedAtRelease = finished
                settings.releaseHeap()
            }
            pruneIfDue(fence: fence, now: now)
            snapshotValue.lastActions = actions.count
            // Counts the cache keeps as rows change: every pool and phase named, with zeros.
            var counts: [String: [String: Int]] = [:]
            for pool in Set(state.input.pools.map(\.name)).union(state.instanceCounts.filter { $0.value.values.contains { $0 != 0 } }.keys) {
                let held = state.instanceCounts[pool] ?? [:]
                counts[pool] = Dictionary(uniqueKeysWithValues: InstanceState.allCases.map { ($0.rawValue, held[$0] ?? 0) })
            }
            snapshotValue.instances = counts
            var phases = Dictionary(uniqueKeysWithValues: AgentPhase.allCases.map { ($0.rawValue, 0) })
            phases.merge(state.agentPhases.filter { $0.value != 0 }) { _, b in b }
            snapshotValue.agents = phases
        } catch {
            logger.warning("tick failed", ["error": Redacted.message(error)])
        }
        snapshotValue.ticks += 1
        snapshotValue.lastTick = clock.now
        snapshotValue.lastTickDuration = ContinuousClock.now - started
        snapshotValue.lastTickPhases = phases
        snapshotValue.queueDepth = await queue.depth
        snapshotValue.backoffs = await queue.backingOff
        metrics.increment("convos_reconcile_ticks_total")
        metrics.observe("convos_reconcile_tick_duration_seconds", seconds: Metrics.seconds(ContinuousClock.now - started))
    }

    /// Starts the pruning of events and logs once every `pruneEvery`, beside the ticks: its deletes
    /// took a tick tens of milliseconds once a minute, at every fleet size. One at a time.
    private func pruneIfDue(fence: Fence, now: Date) {
        if pruning { return }
        if let prunedAt, now.timeIntervalSince(prunedAt) < WorkQueue.seconds(settings.pruneEvery) { return }
        prunedAt = now
        pruning = true
        _ = supervisor.spawn("prune") { [weak self] in
            await self?.prune(fence: fence)
        }
    }

    private func prune(fence: Fence) async {
        defer { pruning = false }
        do { try await pruneEvents(fence: fence) } catch { logger.warning("pruning failed", ["error": Redacted.message(error)]) }
    }

    /// Events kept by age and by count (the newest), superseded changes compacted, and the dirty log
    /// cut below the cache's last mark.
    private func pruneEvents(fence: Fence) async throws {
        let deleted = try await StatusWriter.pruneEvents(fence, age: settings.eventRetention.timeInterval, limit: settings.eventLimit)
        if deleted > 0 { logger.info("events pruned", ["count": String(deleted)]) }
        let compacted = try await StatusWriter.compactChanges(fence, retention: settings.changeRetention)
        if compacted > 0 { logger.info("change log compacted", ["count": String(compacted)]) }
        if let mark = await cache?.readMark { _ = try await StoredState.pruneChanges(db, before: mark) }
    }

    /// Starts a lookup of each pool's digest whose cached one is stale, unless one runs; the first
    /// one of a pool is awaited by the tick's next turn (nothing is created before it).
    private func refreshDigests(_ pools: [PoolView]) {
        for pool in pools {
            guard let image = ImageReference(pool.spec.image), !resolving.contains(pool.name) else { continue }
            if let cached = digests[pool.name], clock.now.timeIntervalSince(cached.at) < WorkQueue.seconds(settings.digestTTL) { continue }
            resolving.insert(pool.name)
            let ghcr = self.ghcr, name = pool.name
            _ = supervisor.spawn("digest \(name)") { [weak self] in
                let result = await Self.lookUp(ghcr, image)
                await self?.resolved(name, image: image, result)
            }
        }
    }

    /// A plain function for the task's body: a typed-throws do/catch inside a task's closure is
    /// what corrupted memory in release builds (Swift 6.3.1, see `InProcessServices.poll`).
    private static func lookUp(_ ghcr: GHCRClient, _ image: ImageReference) async -> Result<String, ProviderError> {
        do { return .success(try await ghcr.resolve(image)) } catch { return .failure(error) }
    }

    private func resolved(_ pool: String, image: ImageReference, _ result: Result<String, ProviderError>) {
        resolving.remove(pool)
        switch result {
        case .success(let digest):
            let changed = digests[pool]?.digest != digest
            digests[pool] = (digest, clock.now)
            // A new digest is planned for at once, as when the tick looked it up itself.
            if changed { wake() }
        case .failure(let error):
            logger.warning("image digest not resolved", ["pool": pool, "image": image.description, "error": error.description])
        }
    }

    /// Writes only the statuses that changed, in one fenced transaction: those of the agents and
    /// templates in `scope` (nil: all), of every pool, and the health the batch answered.
    private func writeStatuses(_ state: TickState, scope: PlanScope?, cache: FleetCache, fence: Fence, now: Date,
                               backoffs: [String: WorkQueue.KeyState]) async throws {
        let input = state.input
        // Positions, not copies of the views (tens of thousands of them), and no pass over the
        // fleet for what a scope names.
        let index = input.index ?? FleetIndex(input)
        let instanceOfAgent = { (agent: String) in index.instanceOfAgent[agent].map { input.instances[$0] } }
        var agentWrites: [(String, JSONText)] = [], agentsWritten: [(String, AgentStatus)] = []
        // The templates' counts: whole at a whole read, else the parts of the agents in scope
        // (of a changed template, all of its agents are), those gone taken out.
        if let scope {
            for name in scope.agents where index.agentAt[name] == nil {
                if let template = templateTally.set(name, nil) { templatesDue.insert(template) }
            }
        } else {
            templateTally.reset()
        }
        for k in scope.map({ FleetIndex.positions(of: $0.agents, in: index.agentAt) }) ?? Array(input.agents.indices) {
            let agent = input.agents[k]
            if let before = templateTally.set(agent.name, StatusBuilder.templatePart(agent, instance: instanceOfAgent(agent.name),
                                                                                     templates: input.templates)) {
                templatesDue.insert(before)
            }
            // A template's status is written when the template changes, and at most every
            // `templateStatusEvery` when only its agents do.
            if let template = agent.spec.template { templatesDue.insert(template) }
            guard let meta = state.agentMeta[agent.name] else { continue }
            let status = StatusBuilder.agent(agent, generation: meta.generation, previous: meta.status?.previous,
                                             instance: instanceOfAgent(agent.name), templates: input.templates, now: now, backoffs: backoffs)
            if meta.status?.same(as: status) != true {
                agentWrites.append((agent.name, JSONText(data: try JSONValue.encoded(status))))
                agentsWritten.append((agent.name, status))
            }
            // A new term writes every agent's status: a thousand at a time, each in its own
            // transaction, so the encoded texts of 40,000 are never held at once (50 MB at 50,000
            // instances, the controller's peak). Each status stands alone; only the order of the
            // locks matters (agents alone here, by name, as in every writer).
            if agentWrites.count >= settings.statusWritesPerTransaction {
                var part = StatusWriter.Writes()
                part.agents = agentWrites
                try await StatusWriter.write(fence, part)
                await cache.wrote(agents: agentsWritten, health: [])
                agentWrites.removeAll(keepingCapacity: true)
                agentsWritten.removeAll(keepingCapacity: true)
            }
        }
        var poolWrites: [(String, JSONText)] = []
        // Agents a rollout skips; only a pool with a rollout asks.
        let pinned = input.pools.contains { $0.rollout != nil }
            ? Set(input.agents.lazy.filter { $0.spec.runtimeImage != nil || $0.deleting }.map(\.name)) : []
        for pool in input.pools {
            guard let meta = state.poolMeta[pool.name] else { continue }
            let previous = try? meta.status.decode(PoolStatus.self)
            var status = StatusBuilder.pool(pool, generation: meta.generation, previous: previous, instances: input.instances,
                                            settings: input.settings, now: now, backoffs: backoffs)
            StatusBuilder.rollout(pool, into: &status, previous: previous, instances: input.instances, skipped: pinned, now: now)
            if status != previous { poolWrites.append((pool.name, JSONText(data: try JSONValue.encoded(status)))) }
        }
        var templateWrites: [(String, JSONText)] = []
        let countsDue = templatesCountedAt.map { now.timeIntervalSince($0) >= WorkQueue.seconds(settings.templateStatusEvery) } ?? true
        let templatesToWrite = state.changedTemplates.union(countsDue ? templatesDue : [])
        if countsDue { templatesDue = []; templatesCountedAt = now }
        for (name, template) in input.templates where scope == nil || templatesToWrite.contains(name) {
            let status = StatusBuilder.template(template, counts: templateTally.counts[name])
            let previous = try? state.templateMeta[name]?.decode(AgentTemplateStatus.self)
            if status != previous { templateWrites.append((name, JSONText(data: try JSONValue.encoded(status)))) }
        }
        // Health as the batch saw it, for `GET /v1/instances`; only what changed.
        let healthWrites = state.asked.sorted().compactMap { id -> StatusWriter.Health? in
            guard let k = index.instanceAt[id] else { return nil }
            let i = input.instances[k]
            guard let health = i.health else { return nil }
            let now = StatusWriter.Health(instance: i.id, health: health.rawValue, version: i.runtimeVersion, runtime: i.runtimeType)
            return now == state.storedHealth[i.id] ? nil : now
        }
        // The failing keys, for every replica's `/status`: what changed, or all at a term's start.
        let known = persistedBackoffs
        let backoffWrites = backoffs.filter { known?[$0.key] != $0.value }.sorted { $0.key < $1.key }
        let backoffsGone = known.map { Array(Set($0.keys).subtracting(backoffs.keys)).sorted() }
        let backoffsChanged = known == nil || !backoffWrites.isEmpty || !(backoffsGone ?? []).isEmpty
        var writes = StatusWriter.Writes()
        writes.pools = poolWrites
        writes.templates = templateWrites
        writes.agents = agentWrites
        writes.health = healthWrites
        if backoffsChanged {
            writes.backoffs = StatusWriter.Backoffs(
                upserts: backoffWrites.map { FleetSummary.Backoff(key: $0.key, action: $0.value.action, failures: $0.value.failures,
                                                                   lastError: $0.value.lastError, nextAttempt: $0.value.nextAttempt) },
                removed: backoffsGone, keep: backoffs.keys.sorted())
        }
        try await StatusWriter.write(fence, writes)
        await cache.wrote(agents: agentsWritten, health: healthWrites)
        persistedBackoffs = backoffs
    }
}

/// Told of a write that may need reconciling (an apply, a claim, a delete): the next tick starts now.
public protocol Waker: Sendable {
    func wake()
}

/// Told of each agent a claim bound at once, so its runtime is configured without waiting for a tick.
public protocol ClaimNotifier: Sendable {
    func claimed(agent: String, instance: String, tools: [ToolName])
}

/// Hears nothing: a reconciler made alone (tests) tells no one.
public struct NoListener: ConversationListener, Waker, ClaimNotifier {
    public init() {}
    public func configured(agent: String) {}
    public func wake() {}
    public func claimed(agent: String, instance: String, tools: [ToolName]) {}
}

extension Reconciler: Waker, ClaimNotifier {}
