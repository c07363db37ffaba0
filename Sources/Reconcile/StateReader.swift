import Foundation
import Postgres
import Resources
import Services
import Store

/// An agent's generation and its status as stored, remembered (nil: none yet, or not readable as one).
package struct AgentMeta: Sendable {
    package var generation: Int
    package var status: StatusMemo?
}

/// One tick's view: the planner's input (the whole fleet, from `FleetCache`), what changed since
/// the last tick, and what the tick needs to write statuses only when they change.
package struct TickState: Sendable {
    package var input: PlannerInput
    /// Per agent: generation and stored status, to write status only when it changed.
    package var agentMeta: [String: AgentMeta]
    package var poolMeta: [String: (generation: Int, status: JSONValue)]
    package var templateMeta: [String: JSONValue]
    package var orphanNames: [String]
    /// The health, version and harness each instance row last recorded, to write them only when they change.
    package var storedHealth: [String: StatusWriter.Health]
    /// What the status batch saw change, for the tick to record (the batch writes nothing).
    package var observed: [String: DeployStatus] = [:]
    /// Rows written since the last tick and instances the batch saw change, with what depends on
    /// them (`PlanScope.expanding`); nil: a whole read, everything counts as changed.
    package var changed: PlanScope?
    /// Templates written since the last tick (their statuses are computed again).
    package var changedTemplates: Set<String> = []
    /// The instances the status batch answered for this tick.
    package var asked: Set<String> = []
    /// How long the rows and the batch took, and how many instances the batch was asked about.
    package var readPhases: [String: Duration] = [:]
    /// Instances by pool and state, and agents by the phase their stored status says (`/status`).
    package var instanceCounts: [String: [InstanceState: Int]] = [:]
    package var agentPhases: [String: Int] = [:]
    /// The cache's one copy of each digest's text, for the pools' digests to share (`FleetCache.interned`).
    package var digestTexts: [String: String] = [:]
}

/// The leader's copy of desired state and of each instance's row and last observed status: what a
/// tick plans from. Owned by the reconciler for one term. Each tick reads only the rows written
/// since the previous one (the dirty log, `StoredState.changes`) and asks the status batch only
/// about instances that changed, that the last plan watches, or that are not steady (deploying,
/// not healthy, tools in the making); the steady rest keeps what the batch last said. The whole
/// is read at a term's first tick and every `fullEvery`, and compared row by row: anything the
/// log missed is seen then.
package actor FleetCache {
    package let db: PostgresPool
    package let services: any ServicesClient
    private var mark: String?
    private var fullAt: Date?
    private var input = PlannerInput(now: .distantPast, pools: [], templates: [:], agents: [], instances: [])
    /// Positions in `input`, kept as rows come and go (handed to the planner as `input.index`).
    private var index = FleetIndex()
    /// The instances whose row has no URL (being created): a view's URL is then the batch's.
    private var rowWithoutURL = Set<String>()
    /// Each agent's status as a memo: 40,000 of them as `JSONValue` trees (a dictionary per
    /// condition), then as whole `AgentStatus` values, were a large part of the cache at 50,000 instances.
    private var agentMeta: [String: AgentMeta] = [:]
    private var poolMeta: [String: (generation: Int, status: JSONValue)] = [:]
    private var templateMeta: [String: JSONValue] = [:]
    private var storedHealth: [String: StatusWriter.Health] = [:]
    /// Kept as instances and agent statuses change, not counted over the fleet each tick.
    private var instanceCounts: [String: [InstanceState: Int]] = [:]
    private var agentPhases: [String: Int] = [:]
    /// The instances not `steady` as last seen, kept as views change: asked about every tick.
    private var unsteady = Set<String>()
    /// One copy of each image digest's text: instances and pools on one digest share its storage,
    /// so the planner's comparisons of them (a few for each of 50,000 instances every tick) are
    /// settled by identity, not by comparing 71 bytes. Digests are few: one per image version.
    private var digestTexts: [String: String] = [:]

    package init(db: PostgresPool, services: any ServicesClient) {
        self.db = db
        self.services = services
    }

    /// The mark every read has passed, for pruning the dirty log.
    package var readMark: String? { mark }

    /// Reads what changed, asks the batch, and returns the tick's state. `watched`: the last plan's
    /// watch list; `fullEvery`: how often the whole is read again.
    package func read(now: Date, digests: [String: String], failureWindow: TimeInterval, watched: PlanScope,
                               fullEvery: TimeInterval) async throws -> TickState {
        let started = ContinuousClock.now
        // The last tick's copy is gone: the index is this actor's alone again, changed in place.
        input.index = nil
        let whole = mark == nil || fullAt.map { now.timeIntervalSince($0) >= fullEvery } ?? true
        let read = try await StoredState.changes(db, since: whole ? nil : mark, digests: digests, failureWindow: failureWindow)
        mark = read.mark
        if whole { fullAt = now }
        var changed = StoredState.Changed()
        if let delta = read.changed {
            changed = delta
        } else {
            changed.templates = Set(input.templates.keys).union(read.rows.templates.keys)
            changed.agents = Set(index.agentAt.keys).union(read.rows.agentMeta.keys)
        }
        // Desired state: pools whole; templates and agents as read (missing: deleted).
        input.pools = read.rows.pools
        poolMeta = read.rows.poolMeta
        for name in changed.templates {
            input.templates[name] = read.rows.templates[name]
            templateMeta[name] = read.rows.templateMeta[name]
        }
        let agentsRead = Dictionary(read.rows.agents.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in changed.agents {
            if let agent = agentsRead[name] {
                index.set(agent, in: &input.agents)
                setMeta(name, read.rows.agentMeta[name].map { AgentMeta(generation: $0.generation, status: $0.status) })
            } else if index.agentAt[name] != nil {
                index.removeAgent(name, from: &input.agents)
                setMeta(name, nil)
            }
        }
        // Instance rows: as read; on a whole read, only those that differ count as changed. The
        // row an instance had is its view without the batch's word (`unobserved`): no second copy.
        var rowsRead: [String: (view: InstanceView, health: StatusWriter.Health?)] = [:]
        for var decoded in read.rows.instances {
            decoded.view.digest = interned(decoded.view.digest)
            rowsRead[decoded.view.id] = decoded
        }
        let instanceKeys = read.changed == nil ? Set(index.instanceAt.keys).union(rowsRead.keys) : changed.instances
        changed.instances = []
        var gone = Set<String>()
        for id in instanceKeys {
            let row = rowsRead[id]
            if row?.view != storedRow(id) || row?.health != storedHealth[id] { changed.instances.insert(id) }
            if row == nil { gone.insert(id) }
            if let row, row.view.url == nil { rowWithoutURL.insert(id) } else { rowWithoutURL.remove(id) }
            storedHealth[id] = row?.health
        }
        // The row each instance has now: as just read, else as its view says; nil: gone.
        let rowNow = { (id: String) -> InstanceView? in gone.contains(id) ? nil : rowsRead[id]?.view ?? self.storedRow(id) }
        // The batch: what changed (a key in the log may be a services row, a tool, a variable:
        // asked even when its pool row is the same), what the plan watches, whatever is not steady.
        var ask = changed.instances.union(watched.instances)
        if read.changed != nil { ask.formUnion(instanceKeys) }
        ask.formUnion(unsteady)
        let unsteadyAsked = unsteady.count
        ask = ask.filter { rowNow($0) != nil }
        let rowsDone = ContinuousClock.now
        let batch = try await services.statusBatch(ask.sorted())
        let batchDone = ContinuousClock.now
        // Every instance the rows or the batch touched is seen again.
        for id in changed.instances.union(batch.statuses.keys) {
            guard let row = rowNow(id) else {
                if let k = index.instanceAt[id] {
                    count(input.instances[k], -1)
                    index.remove(k, from: &input.instances)
                }
                unsteady.remove(id)
                continue
            }
            // Every instance seen again was asked (a changed row is always asked), and the batch
            // answers for each id it is given: its word is kept in the view alone, not beside it.
            let view = Self.observe(row, batch.statuses[id], storedHealth: storedHealth[id])
            if Self.steady(view) { unsteady.remove(id) } else { unsteady.insert(id) }
            if let k = index.instanceAt[id] {
                if input.instances[k] != view { changed.instances.insert(id) }
                count(input.instances[k], -1)
                count(view, 1)
                index.replace(k, with: view, in: &input.instances)
            } else {
                count(view, 1)
                index.append(view, to: &input.instances)
                changed.instances.insert(id)
            }
        }
        input.now = now
        input.orphans = []
        input.auditDue = batch.resynced ?? false
        input.strays = batch.strays ?? []
        input.numberStockDue = batch.numberStock != nil
        // A whole read plans the whole fleet, as every tick once did.
        let scope = read.changed == nil ? nil
            : PlanScope.expanding(instances: changed.instances, agents: changed.agents, templates: changed.templates, in: input,
                                  instanceAt: index.instanceAt)
        // The index kept by hand equals the one built from the arrays (checked in debug builds: tests).
        assert(index == FleetIndex(input), "FleetCache's index differs from its input's")
        assert(unsteady == Set(input.instances.lazy.filter { !Self.steady($0) }.map(\.id)), "FleetCache's unsteady set differs from its views'")
        input.index = index
        var state = TickState(input: input, agentMeta: agentMeta, poolMeta: poolMeta, templateMeta: templateMeta,
                              orphanNames: (batch.orphans ?? []).map { String($0.dropFirst("convos-agent-".count)) }, storedHealth: storedHealth,
                              changed: scope, changedTemplates: changed.templates, asked: Set(batch.statuses.keys))
        state.observed = batch.observed ?? [:]
        state.instanceCounts = instanceCounts
        state.digestTexts = digestTexts
        state.agentPhases = agentPhases
        state.readPhases = ["read.rows": rowsDone - started, "read.batch": batchDone - rowsDone,
                            "read.asked": .milliseconds(ask.count), "read.merge": ContinuousClock.now - batchDone,
                            // Why they were asked (counts, as `read.asked`): the phases say where a slow batch came from.
                            "read.asked.changed": .milliseconds(changed.instances.count), "read.asked.watched": .milliseconds(watched.instances.count),
                            "read.asked.unsteady": .milliseconds(unsteadyAsked)]
        // The batch's own steps (its rows, the look at Railway taken, the health, ...).
        for (step, ms) in batch.phasesMs ?? [:] { state.readPhases["read.batch." + step] = .microseconds(Int64(ms * 1000)) }
        return state
    }

    /// The tick wrote these statuses: the copy keeps them, so the next tick compares with them.
    package func wrote(agents: [(String, AgentStatus)], health: [StatusWriter.Health]) {
        for (name, status) in agents {
            guard var meta = agentMeta[name] else { continue }
            meta.status = StatusMemo(status)
            setMeta(name, meta)
        }
        for h in health { storedHealth[h.instance] = h }
    }

    /// Not deploying, healthy, nothing being made or handed over: the batch would say the same
    /// again, so it is asked only when a row changes (or a sweep's ping says otherwise).
    package static func steady(_ i: InstanceView) -> Bool {
        i.setup == .created && i.healthy && (i.deployStatus?.isRunning ?? false) && !i.envPending && i.quotaWaitUntil == nil
            && i.tools.values.allSatisfy { $0.state == .ready || $0.state == .deleted }
    }

    /// The one copy of `digest`'s text.
    private func interned(_ digest: String?) -> String? {
        guard let digest else { return nil }
        if let held = digestTexts[digest] { return held }
        digestTexts[digest] = digest
        return digest
    }

    /// An agent's generation and stored status, with the phase counts kept.
    private func setMeta(_ name: String, _ meta: AgentMeta?) {
        if let old = agentMeta[name] { agentPhases[Self.phase(old.status), default: 0] -= 1 }
        if let meta { agentPhases[Self.phase(meta.status), default: 0] += 1 }
        agentMeta[name] = meta
    }

    private static func phase(_ status: StatusMemo?) -> String { (status?.phase ?? .pending).rawValue }

    /// Counts an instance in (1) or out (-1) of its pool's state.
    private func count(_ i: InstanceView, _ by: Int) {
        instanceCounts[i.pool, default: [:]][i.state, default: 0] += by
    }

    /// The instance with the batch's word on it (nil: the batch never answered for it).
    static func observe(_ row: InstanceView, _ observed: InstanceStatus?, storedHealth: StatusWriter.Health?) -> InstanceView {
        var i = row
        i.url = row.url ?? observed?.url
        i.setup = observed?.setup ?? .missing
        i.health = observed?.state
        i.deployStatus = observed?.deployStatus
        i.tools = tools(observed?.tools ?? [:])
        i.envPending = observed?.envPending ?? false
        i.deployedAt = observed?.deployedAt
        i.quotaWaitUntil = observed?.quotaWaitUntil
        i.lastError = observed?.lastError
        i.variablesUnchecked = observed?.variablesUnchecked ?? false
        i.runtimeVersion = observed?.runtimeVersion ?? storedHealth?.version
        i.runtimeType = observed?.runtimeType ?? storedHealth?.runtime
        return i
    }

    /// The instance's row as last read: its view without the batch's word; nil when it has no view.
    private func storedRow(_ id: String) -> InstanceView? {
        index.instanceAt[id].map { Self.unobserved(input.instances[$0], rowHasURL: !rowWithoutURL.contains(id)) }
    }

    /// `observe`'s inverse: the view with every field the batch set back as a row leaves it.
    static func unobserved(_ view: InstanceView, rowHasURL: Bool) -> InstanceView {
        var i = view
        if !rowHasURL { i.url = nil }
        i.setup = .missing
        i.health = nil
        i.deployStatus = nil
        i.tools = [:]
        i.envPending = false
        i.deployedAt = nil
        i.quotaWaitUntil = nil
        i.lastError = nil
        i.variablesUnchecked = false
        i.runtimeVersion = nil
        i.runtimeType = nil
        return i
    }

    /// The services layer's tool statuses, keyed by tool; unknown tool ids are skipped.
    package static func tools(_ statuses: [String: ToolStatus]) -> [ToolName: ToolView] {
        var tools: [ToolName: ToolView] = [:]
        for (name, status) in statuses {
            guard let tool = ToolName(rawValue: name) else { continue }
            tools[tool] = ToolView(state: status.state, delivered: status.delivered, config: status.config,
                                   errorCode: status.errorCode, error: status.error, resourceId: status.resourceId)
        }
        return tools
    }
}
