import Foundation
import Postgres
import Providers
import Resources
import Store
import Sync

/// `POST /status/batch`: the fleet's state from one SQL query, Railway observed as
/// `RailwayObserver` decides (the instances in transition polled one by one, the whole fleet
/// listed once every `RESYNC_INTERVAL`), and a health ping of each deployed runtime not seen
/// ready lately (40 at a time), mapped to the seed's four states.
///
/// A read: it writes nothing and starts nothing. What it saw change (deployment statuses) comes
/// back in `observed` for the reconciler to record, under its fence; what it found to do (hand
/// variables to a runtime that lacks them, the tools' audit after a resync) the planner plans.
extension InProcessServices {
    public func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch {
        var phases = BatchPhases()
        // And the steady runtimes whose sweep ping disagreed with ready: answered for as well.
        let services = self
        let swept = await sweep.take(now: clock.now) { after, limit in await services.sweepStep(after: after, limit: limit) }
        let ids = Array(Set(instanceIDs).union(swept)).sorted().filter(validInstanceID)
        let rows = try await db.query("""
            SELECT i.instance_id, i.state, i.url, i.runtime_key, i.deploy_status, i.railway_project_id, i.deployed_at, i.quota_wait_until,
                   i.last_error, i.variables_checked_at IS NULL AS unchecked,
                   EXISTS (SELECT 1 FROM services.runtime_env e WHERE e.instance_id = i.instance_id AND e.delivered_at IS NULL) AS env_pending,
                   coalesce((SELECT jsonb_object_agg(t.tool, jsonb_strip_nulls(jsonb_build_object(
                       'state', t.state, 'resourceId', t.external_id, 'provisioning', t.provisioning, 'config', t.config,
                       'errorCode', t.error_code, 'error', t.last_error,
                       'delivered', NOT EXISTS (SELECT 1 FROM services.runtime_env e
                                                WHERE e.instance_id = t.instance_id AND e.source = t.tool AND e.delivered_at IS NULL))))
                             FROM services.tool_resources t WHERE t.instance_id = i.instance_id), '{}') AS tools
            FROM services.instances i WHERE i.instance_id = ANY($1::text[])
            """, [textArray(ids)])
        phases.mark("rows")
        var deployStatus: [String: DeployStatus] = [:]
        var projectOf: [String: String] = [:]
        for row in rows.rows where try row.decode("state", as: ServiceInstanceState.self) == .ready {
            let id: String = try row.decode("instance_id")
            deployStatus[id] = try row.decode("deploy_status")
            projectOf[id] = try row.decode("railway_project_id")
        }
        // What the last look at Railway saw; the next starts now, beside this batch, never in its way.
        let stored = deployStatus, projects = projectOf
        let look = await observer.take { await services.observeRailway(stored, projects: projects) } ?? .none
        phases.mark("look")
        // The batch may name part of the fleet (the reconciler asks about what changed): what the
        // look saw of the rest is compared with the rows as they stand now.
        var current = deployStatus
        let outside = look.seen.keys.filter { current[$0] == nil && look.basis[$0] != look.seen[$0] }.sorted()
        if !outside.isEmpty {
            for row in try await db.query("SELECT instance_id, deploy_status FROM services.instances WHERE instance_id = ANY($1::text[]) AND state = 'ready'",
                                          [textArray(outside)]).rows {
                current[try row.decode("instance_id")] = try row.decode("deploy_status")
            }
        }
        let observed = look.changes(against: current)
        let (resynced, strays) = (look.resynced, look.strays)
        deployStatus.merge(observed.filter { deployStatus[$0.key] != nil }) { _, new in new }
        var changed = observed

        var statuses: [String: InstanceStatus] = [:]
        for id in ids {
            statuses[id] = InstanceStatus(state: .deploying, setup: .missing, deployStatus: nil, url: nil, tools: [:], envPending: false)
        }
        var probes: [(id: String, url: URL, key: String?)] = []
        for row in rows.rows {
            let id: String = try row.decode("instance_id")
            let setup = Self.setup(try row.decode("state"))
            let status = setup == .created ? deployStatus[id] : nil
            let tools = try JSONDecoder().decode([String: ToolStatus].self, from: try row.decode("tools", as: JSONText.self).data)
            let url: String? = try row.decode("url")
            var state = Self.health(setup: setup, deployStatus: status)
            // A deployment under way is pinged too: the runtime answering ready with its own key
            // proves the deploy succeeded, without spending Railway's quota to learn it.
            let deploying = setup == .created && state == .deploying
            if state == .unreachable || deploying, let url, let target = URL(string: url) {
                probes.append((id, target, try row.decode("runtime_key")))
            } else if state == .unreachable {
                state = .deploying
            }
            let envPending: Bool = try row.decode("env_pending")
            var instance = InstanceStatus(state: state, setup: setup, deployStatus: status, url: url, tools: tools, envPending: envPending)
            instance.deployedAt = try row.decode("deployed_at")
            instance.variablesUnchecked = try setup == .created && row.decode("unchecked", as: Bool.self)
            if let until: Date = try row.decode("quota_wait_until"), until > clock.now {
                instance.quotaWaitUntil = until
                instance.lastError = try row.decode("last_error")
            }
            statuses[id] = instance
        }
        phases.mark("statuses")
        // The steady fleet was ready lately: only the rest is pinged now.
        let fresh = await health.fresh(probes.map(\.id), now: clock.now)
        let answers = await ping(probes.filter { !fresh.contains($0.id) })
        await health.record(answers, now: clock.now)
        for id in fresh { statuses[id]?.state = .healthy }
        for (id, answer) in answers where answer?.ready == true { statuses[id]?.state = .healthy }
        // One hop to the cache for the whole fleet, not one per instance: this runs every tick.
        for (id, said) in await health.identities(ids) {
            statuses[id]?.runtimeVersion = said.version
            statuses[id]?.runtimeType = said.runtime
        }
        phases.mark("health")
        // Ready while Railway was last seen deploying: the deploy is done; no poll needed for it.
        // Ready by this batch's ping or by a recent one (the sweep's may have come first).
        let readyNow = Set(answers.filter { $0.value?.ready == true }.keys).union(fresh)
        let done = readyNow.filter { !(statuses[$0]?.deployStatus ?? .success).isSettled }.sorted()
        for id in done {
            statuses[id]?.deployStatus = .success
            changed[id] = .success
        }
        // Projects of our naming the last resync listed, less those with a row: only they are looked up.
        let named = await observer.orphans
        var orphans: [String] = []
        if !named.isEmpty {
            let known = Set(try await db.query("SELECT instance_id FROM services.instances WHERE state <> 'deleted' AND instance_id = ANY($1::text[])",
                                               [textArray(named.map { String($0.dropFirst(13)) })]).rows
                .map { try $0.decode("instance_id", as: String.self) })
            orphans = named.filter { !known.contains(String($0.dropFirst(13))) }
        }
        phases.mark("orphans")
        let stock = try await numberStock()
        phases.mark("stock")
        var batch = StatusBatch(statuses: statuses, orphans: orphans, observed: changed, resynced: resynced, strays: strays, numberStock: stock)
        batch.phasesMs = phases.ms
        return batch
    }

    /// Railway's word on the deployments that may have changed, as the observer plans it: the
    /// whole fleet at a resync, else each instance in transition (or named by an event) by id.
    /// Returns the statuses that changed (for the caller to record), and whether the fleet was
    /// listed; a call Railway refuses (quota) leaves the stored ones, to be looked at again.
    private func observeRailway(_ stored: [String: DeployStatus], projects: [String: String]) async -> RailwayLook {
        let railway = providers.railway
        guard railway.tokens.count > 0 else { return .none }
        let now = clock.now
        let transitioning = stored.filter { !$0.value.isSettled }.keys.sorted()
        let plan = await observer.plan(transitioning: transitioning, fleet: stored.count,
                                       quota: railway.tokens.snapshot.map(\.quota), now: now)
        var seen: [String: DeployStatus] = [:]
        var strays: [String] = []
        var stored = stored, projects = projects
        if plan.resync {
            await observer.setResyncing(true)
            // Of each project only what the resync looks at, page by page (the whole listing as
            // projects was a large part of the controller's peak at 50,000).
            var byID: [String: Listed] = [:], idByName: [String: String] = [:], named: [String: Int] = [:]
            var listed = 0
            do {
                try await railway.eachProjectPage { page in
                    for project in page {
                        listed += 1
                        byID[project.id] = Listed(status: project.deploymentStatus, services: project.serviceIDs.count)
                        named[project.name, default: 0] += 1
                        if idByName[project.name] == nil { idByName[project.name] = project.id }
                    }
                }
            } catch {
                await observer.setResyncing(false)
                return .none
            }
            guard let fleet = try? await db.query("SELECT instance_id, deploy_status, railway_project_id FROM services.instances WHERE state = 'ready'") else {
                await observer.setResyncing(false)
                return .none
            }
            for row in fleet.rows {
                guard let id = try? row.decode("instance_id", as: String.self) else { continue }
                stored[id] = try? row.decode("deploy_status", as: DeployStatus.self)
                projects[id] = try? row.decode("railway_project_id", as: String?.self)
            }
            // The caches keep only the fleet that stands.
            await health.retain(Set(stored.keys))
            await observer.retain(Set(stored.keys))
            // A name with two projects: the recorded one is the instance's, the other a stray. So is
            // a second service in the instance's project (a deposed leader's create answered late).
            let twoProjects = Set(stored.keys.filter { (named[externalName(instanceID: $0)] ?? 0) > 1 })
            let twoServices = stored.keys.filter { id in (projects[id].flatMap { byID[$0] }?.services ?? 0) > 1 }
            strays = twoProjects.union(twoServices).sorted()
            for id in stored.keys {
                let project = projects[id].flatMap { byID[$0] } ?? idByName[externalName(instanceID: id)].flatMap { byID[$0] }
                seen[id] = project == nil ? .missing : project?.status ?? stored[id]
            }
            // A project newly missing from the listing is asked for by id before it counts: a
            // lost project rebinds its agent (a new conversation), so a short or inconsistent
            // listing must never be taken for one.
            let vanished = seen.filter { $0.value == .missing && stored[$0.key] != .missing }.keys.sorted()
            if !vanished.isEmpty {
                let confirmed = await poll(vanished, projects: projects)
                for id in vanished { seen[id] = confirmed[id] ?? stored[id] }
            }
            // Projects of our naming with no instance standing: kept for the batches to check again
            // (a row made since), not the whole listing (each batch would look all of it up).
            let orphans = named.keys.filter { $0.hasPrefix("convos-agent-") && stored[String($0.dropFirst(13))] == nil }.sorted()
            await observer.resynced(orphans: orphans, namedTwice: twoProjects, listed: listed, now: now)
        } else if !plan.poll.isEmpty {
            let polled = await poll(plan.poll, projects: projects)
            await observer.polled(Array(polled.keys), now: now)
            seen = polled
        }
        return RailwayLook(basis: stored, seen: seen, resynced: plan.resync, strays: strays)
    }

    /// A project as a resync keeps it: its latest deployment's status and how many services it has.
    private struct Listed {
        var status: DeployStatus?
        var services: Int
    }

    /// `POST /status/observed`: keeps what a batch saw, so the next one polls only what is in
    /// transition. Called by the reconciler under its fence. Only rows whose status differs are
    /// written: a resync of a new term observes the whole fleet, and rewriting 40,000 unchanged
    /// rows put every one in the dirty log, so the next tick asked about, and pinged, all of them
    /// (a 120 s tick at 50,000).
    public func recordObserved(_ deployStatuses: [String: DeployStatus]) async throws {
        let ids = deployStatuses.keys.filter(validInstanceID).sorted()
        guard !ids.isEmpty else { return }
        _ = try await db.query("""
            UPDATE services.instances i SET deploy_status = u.s, updated_at = now() FROM unnest($1::text[], $2::text[]) AS u(id, s)
            WHERE i.instance_id = u.id AND i.state = 'ready' AND i.deploy_status IS DISTINCT FROM u.s
            """, [textArray(ids), textArray(ids.map { deployStatuses[$0]!.rawValue })])
    }

    /// `POST /remove-strays/INSTANCE`: every service of the instance's project but the recorded one
    /// goes (one look at the project), and every project of its name but the recorded one (one
    /// listing of the workspace: only when the last resync saw the name twice, or none has run here).
    public func removeStrays(_ instanceID: String) async throws {
        guard validInstanceID(instanceID) else { throw ServicesError.invalid("instanceId must be 6-32 lowercase letters and digits") }
        guard let row = try await db.query("""
            SELECT railway_project_id, railway_service_id FROM services.instances
            WHERE instance_id = $1 AND state = 'ready' AND railway_project_id IS NOT NULL AND railway_service_id IS NOT NULL
            """, [instanceID]).first else { return }
        let recorded: String = try row.decode("railway_project_id"), service: String = try row.decode("railway_service_id")
        let listWorkspace = await observer.namedTwice(instanceID)
        let railway = providers.railway, name = externalName(instanceID: instanceID)
        try ServicesDB.checkFence()
        try await provider { () async throws(ProviderError) in
            if let project = try await railway.project(id: recorded) {
                for stray in project.serviceIDs where stray != service {
                    try await railway.deleteService(id: stray, environmentID: project.environmentID)
                }
            }
            guard listWorkspace else { return }
            for stray in try await railway.projects() where stray.name == name && stray.id != recorded {
                try await railway.deleteProject(id: stray.id)
            }
        }
    }

    /// `POST /hand-over/INSTANCE`: the variables a crash or a failed restart left undelivered go
    /// to the runtime, in the background (`RuntimeHandoff` owns the task).
    public func handOver(_ instanceID: String) async throws {
        guard validInstanceID(instanceID) else { throw ServicesError.invalid("instanceId must be 6-32 lowercase letters and digits") }
        await kickDelivery(instanceID)
    }

    /// `POST /audit-tools`: the tools' listings in the background (`ToolAudit`): they take a page
    /// per 100 resources, and the action that starts them must not wait.
    public func auditTools() async throws {
        let services = self
        await audit.start { await services.runAudit() }
    }

    /// One project's latest deployment status, `MISSING` when the project is gone, nil when
    /// Railway did not answer (quota, outage): looked at again later.
    private static func deploymentStatus(_ railway: RailwayClient, projectID: String?) async -> DeployStatus? {
        guard let projectID else { return nil }
        let result: Result<RailwayProject?, ProviderError>
        do { result = .success(try await railway.project(id: projectID)) } catch { result = .failure(error) }
        switch result {
        case .success(let project): return project?.deploymentStatus ?? .missing
        case .failure: return nil
        }
    }

    /// Each instance's deployment status by its project's id, eight at a time; those Railway did
    /// not answer are left out. The child calls a plain non-throwing function: a typed-throws
    /// do/catch inside a task group's child closure corrupted memory in release builds (Swift
    /// 6.3.1; seen as a crash under the realistic profile).
    private func poll(_ ids: [String], projects: [String: String]) async -> [String: DeployStatus] {
        let railway = providers.railway
        var polled: [String: DeployStatus] = [:]
        for batch in stride(from: 0, to: ids.count, by: 8).map({ Array(ids[$0..<min($0 + 8, ids.count)]) }) {
            let found = await withTaskGroup(of: (String, DeployStatus?).self, returning: [(String, DeployStatus?)].self) { group in
                for id in batch {
                    let projectID = projects[id]
                    group.addTask { (id, await Self.deploymentStatus(railway, projectID: projectID)) }
                }
                var answers: [(String, DeployStatus?)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            for (id, status) in found { if let status { polled[id] = status } }
        }
        return polled
    }

    /// One step of the steady fleet's sweep (`HealthSweep`): the next ready runtimes in id order not
    /// pinged lately, pinged; those not ready, or naming another version, need the batch's look.
    package func sweepStep(after: String, limit: Int) async -> (last: String?, count: Int, attention: [String], total: Int?) {
        var total: Int?
        if after.isEmpty {
            total = try? await db.query("SELECT count(*)::int AS n FROM services.instances WHERE state = 'ready'").first?.decode("n", as: Int.self)
        }
        guard let rows = try? await db.query("""
            SELECT instance_id, url, runtime_key FROM services.instances
            WHERE state = 'ready' AND instance_id > $1 ORDER BY instance_id LIMIT $2
            """, [after, limit]).rows else { return (after, 0, [], total) }
        var probes: [(id: String, url: URL, key: String?)] = []
        var last: String?
        for row in rows {
            guard let id = try? row.decode("instance_id", as: String.self) else { continue }
            last = id
            if let url = try? row.decode("url", as: String?.self), let target = URL(string: url) {
                probes.append((id, target, try? row.decode("runtime_key", as: String?.self)))
            }
        }
        let fresh = await health.fresh(probes.map(\.id), now: clock.now)
        let due = probes.filter { !fresh.contains($0.id) }
        let before = await health.identities(due.map(\.id))
        // Paced: in one burst (500 pings at 50,000 instances, 40 at once) they held both cores while
        // the tick that started the step ran its queries (the slowest quiet tick's last query, 30 ms late).
        let answers = await HealthSweep.paced(due, rate: settings.healthSweepRate, clock: clock) { await ping($0) }
        await health.record(answers, now: clock.now)
        let attention = answers.compactMap { id, answer -> String? in
            guard let answer, answer.ready else { return id }
            return answer.version != nil && answer.version != before[id]?.version ? id : nil
        }
        return (rows.count < limit ? nil : last, rows.count, attention, total)
    }

    /// `/pool/health` of each runtime, at most 40 at once; nil where it did not answer.
    private func ping(_ probes: [(id: String, url: URL, key: String?)]) async -> [String: RuntimeHealth?] {
        let runtime = providers.runtime
        return await withTaskGroup(of: (String, RuntimeHealth?).self) { group in
            var results: [String: RuntimeHealth?] = [:]
            var next = probes.makeIterator()
            func add() -> Bool {
                guard let probe = next.next() else { return false }
                group.addTask { (probe.id, await runtime.health(probe.url, key: probe.key)) }
                return true
            }
            for _ in 0..<40 where !add() { break }
            while let (id, answer) = await group.next() {
                results[id] = answer
                _ = add()
            }
            return results
        }
    }

    package static func setup(_ state: ServiceInstanceState) -> InstanceSetup {
        switch state {
        case .creating: return .creating
        case .ready: return .created
        case .deleting: return .deleting
        case .deleted: return .deleted
        }
    }

    /// The seed's mapping: a deploy under way is `deploying`, a failed one `deploy_failed`; a
    /// successful one is `healthy` only once the runtime says ready (`unreachable` until then,
    /// decided by the ping).
    package static func health(setup: InstanceSetup, deployStatus: DeployStatus?) -> InstanceHealth {
        guard setup == .created else { return setup == .creating || setup == .missing ? .deploying : .deployFailed }
        guard let deployStatus else { return .deploying }
        // SLEEPING wakes on a request, and the health ping is one; SKIPPED leaves the previous
        // deployment running. The ping decides, as after a SUCCESS.
        if deployStatus.isRunning { return .unreachable }
        return deployStatus.isFailure ? .deployFailed : .deploying
    }
}

/// The steps of one status batch, timed: each `mark` closes the step since the last one.
struct BatchPhases {
    private var last = ContinuousClock.now
    private(set) var ms: [String: Double] = [:]

    mutating func mark(_ step: String) {
        let now = ContinuousClock.now
        ms[step, default: 0] += (now - last).timeInterval * 1000
        last = now
    }
}
