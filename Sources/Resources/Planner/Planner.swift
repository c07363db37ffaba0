import Foundation

/// Turns (desired, observed) into actions. Pure: same input, same output; no I/O, no clock of its
/// own. The reconciler calls it once per tick; the table tests call it directly.
public enum Planner {
    public static func plan(_ input: PlannerInput) -> [Action] { plan(input, scope: nil).actions }

    /// The plan with instances and agents outside `scope` not planned one by one (nil: all of
    /// them), and what to watch next tick. `PlanScope` says why that equals the full plan.
    public static func plan(_ input: PlannerInput, scope: PlanScope?) -> ScopedPlan {
        // The audit after a resync asks every configured runtime for its conversation.
        let scope = input.auditDue ? nil : scope
        var actions: [Action] = []
        var watch = PlanScope()
        // Positions, not copies: a tick sees tens of thousands of instances, and a view is large.
        let index = input.index ?? FleetIndex(input)
        let instanceOfAgent = InstanceLookup(instances: input.instances, at: index.instanceOfAgent)
        let poolsByName = Dictionary(input.pools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        // Instances: provisioning ones started and promoted, broken ones failed and removed. A
        // scope's few are found by position, in the array's order, as a whole pass meets them.
        for k in scope.map({ FleetIndex.positions(of: $0.instances, in: index.instanceAt) }) ?? Array(input.instances.indices) {
            let instance = input.instances[k]
            let planned = planInstance(instance, pool: poolsByName[instance.pool], input: input)
            // A provisioning instance waits on time too (its stuck timeout).
            if !planned.isEmpty || instance.state == .provisioning { watch.instances.insert(instance.id) }
            actions += planned
        }

        // Agents: bound, equipped, synced, cloned; deleted ones torn down then removed.
        let waiting = index.unbound.compactMap { index.agentAt[$0].map { input.agents[$0] } }.filter { !$0.deleting }
            .sorted { ($0.createdAt, $0.name) < ($1.createdAt, $1.name) }
        let fallback = defaultPool(input.pools)?.name
        var idleLeft: [String: Int] = [:]
        for (key, n) in index.tally where key.state == .idle && !key.deployFailed { idleLeft[key.pool, default: 0] += n }
        var waitingFor: [String: Int] = [:]
        for agent in waiting {
            // An agent whose template is missing waits: apply refuses that, so it is a race with a delete.
            if let template = agent.spec.template, input.templates[template] == nil { continue }
            guard let pool = claimPool(agent, templates: input.templates, fallback: fallback), poolsByName[pool] != nil else { continue }
            waitingFor[pool, default: 0] += 1
            guard (idleLeft[pool] ?? 0) > 0 else { continue }
            actions.append(.bindAgent(agent: agent.name, pool: pool))
            idleLeft[pool, default: 0] -= 1
        }
        for k in scope.map({ FleetIndex.positions(of: $0.agents, in: index.agentAt) }) ?? Array(input.agents.indices) {
            let agent = input.agents[k]
            let planned = planAgent(agent, instance: instanceOfAgent[agent.name], input: input, instanceOfAgent: instanceOfAgent)
            // A clone waits on its parent's instance too, which is another object's change.
            let waitsOnParent = agent.spec.cloneFrom != nil && !(instanceOfAgent[agent.name]?.cloneSummaryDone ?? false)
            if !planned.isEmpty || waitsOnParent { watch.agents.insert(agent.name) }
            actions += planned
        }

        // Pools: refill to minIdle within maxInstances; replace instances on an old digest.
        for pool in input.pools {
            actions += planPool(pool, input: input, tally: index.tally(of: pool.name), waitingForThisPool: waitingFor[pool.name] ?? 0)
        }

        for orphan in input.orphans where input.now.timeIntervalSince(orphan.firstSeen) >= input.settings.orphanGrace {
            actions.append(.deleteOrphan(instanceID: orphan.instanceID))
        }

        // What the status batch found to do: variables a running runtime lacks, and the audit.
        for k in FleetIndex.positions(of: index.envPending, in: index.instanceAt) {
            let instance = input.instances[k]
            if instance.setup == .created && instance.health == .healthy { actions.append(.handOver(instance: instance.id)) }
        }
        if input.auditDue { actions.append(.auditTools) }
        if input.numberStockDue { actions.append(.stockNumbers) }
        // At a resync, each instance made before its variables were held to the contract, once.
        if input.auditDue {
            for instance in input.instances where instance.variablesUnchecked && instance.healthy && (instance.state == .idle || instance.state == .claimed) {
                actions.append(.pruneVariables(instance: instance.id))
            }
        }
        for instance in input.strays { actions.append(.removeStrays(instance: instance)) }
        // Claimed agents onto their pool's digest (Planner+Rollout).
        for pool in input.pools { actions += planRollout(pool, input: input, index: index) }
        return ScopedPlan(actions: actions, watch: watch)
    }

    /// One agent's own actions: torn down and removed when deleted, rebound when its instance was
    /// lost, else configured and equipped (`planClaimed`).
    static func planAgent(_ agent: AgentView, instance: InstanceView?, input: PlannerInput, instanceOfAgent: InstanceLookup) -> [Action] {
        if agent.deleting {
            if let instance { return [.teardown(instance: instance.id, reason: "AgentDeleted")] }
            return [.removeAgent(agent: agent.name)]
        }
        // An agent whose template is missing waits: apply refuses that, so it is a race with a delete.
        if let template = agent.spec.template, input.templates[template] == nil { return [] }
        guard let instance, instance.state == .claimed else { return [] }
        if instance.lost {
            return [.instanceLost(agent: agent.name, instance: instance.id, rebind: agent.spec.onInstanceLost != .fail)]
        }
        return planClaimed(agent, instance, input: input, parent: agent.spec.cloneFrom.flatMap { instanceOfAgent[$0] })
    }

    /// Each agent's instance, by its position in the input.
    struct InstanceLookup {
        let instances: [InstanceView]
        let at: [String: Int]
        subscript(agent: String) -> InstanceView? { at[agent].map { instances[$0] } }
    }

    /// The pool agents claim from: `default` when it exists, else the first by name.
    public static func defaultPool(_ pools: [PoolView]) -> PoolView? {
        pools.first { $0.name == "default" } ?? pools.min { $0.name < $1.name }
    }

    /// The pool an agent is claimed from: its template's `spec.pool`, else `fallback` (`defaultPool`).
    public static func claimPool(_ agent: AgentView, templates: [String: TemplateView], fallback: String?) -> String? {
        agent.spec.template.flatMap { templates[$0]?.spec.pool } ?? fallback
    }

    static func planInstance(_ instance: InstanceView, pool: PoolView?, input: PlannerInput) -> [Action] {
        let age = input.now.timeIntervalSince(instance.createdAt)
        switch instance.state {
        case .provisioning:
            if instance.setup == .created && instance.deployFailed {
                return [.markFailed(instance: instance.id, reason: (instance.deployStatus ?? .failed).failureReason)]
            }
            // Not yet deployed: creating goes on (retried, or deferred while a quota holds it);
            // no stuck timer runs before the deploy, so waiting for a quota never fails an instance.
            if instance.setup == .missing || instance.setup == .creating {
                guard let pool, let digest = instance.digest, let image = ImageReference(pool.spec.image) else { return [] }
                return [.startInstance(instance: instance.id, image: "\(image.registry)/\(image.repository)@\(digest)")]
            }
            let deployedFor = instance.deployedAt.map { input.now.timeIntervalSince($0) } ?? age
            if deployedFor >= input.settings.stuckAfter { return [.markFailed(instance: instance.id, reason: "NotReadyInTime")] }
            // A successful deploy is not enough: the runtime must say it is ready.
            if instance.healthy, let url = instance.url { return [.markIdle(instance: instance.id, url: url)] }
            return []
        case .idle:
            return instance.deployFailed ? [.markFailed(instance: instance.id, reason: (instance.deployStatus ?? .failed).failureReason)] : []
        case .failed:
            return instance.agent == nil ? [.teardown(instance: instance.id, reason: "Failed")] : []
        case .deleting:
            return [.teardown(instance: instance.id, reason: "Deleting")]
        case .claimed:
            return []
        }
    }

    /// A claimed instance: configure the runtime as soon as it is ready (the invite is what the
    /// claimer waits for), provision the tools meanwhile, then keep the runtime's configuration in
    /// step with the template and send the clone summary.
    static func planClaimed(_ agent: AgentView, _ instance: InstanceView, input: PlannerInput, parent: InstanceView?) -> [Action] {
        let config = agent.config(input.templates)
        var actions: [Action] = []
        // A tainted runtime is left as it is for an operator: nothing more reaches it.
        if instance.acceptance == .tainted { return [] }
        // A runtime being upgraded is down or not yet proven: only the upgrade's gates speak to it
        // (Planner+Rollout); its tools are still kept in order.
        if instance.upgradePhase != nil {
            return config.toolsToProvision(instance.tools).map { .provisionTool(agent: agent.name, instance: instance.id, tool: $0) }
        }
        // At each resync (and while a join waits), the runtime's own word on its conversation.
        if input.auditDue, instance.healthy, instance.configured || instance.acceptance == .pending {
            actions.append(.checkConversation(agent: agent.name, instance: instance.id))
        }
        if instance.acceptance == .pending {
            // The join waits for its owner: nothing to configure until the runtime calls back.
        } else if !instance.configured {
            if instance.healthy { actions.append(.configure(agent: agent.name, instance: instance.id)) }
        } else {
            let wanted = RuntimeConfig(config)
            if wanted != instance.runtimeConfig && wanted != instance.refusedConfig {
                let generation = agent.spec.template.flatMap { input.templates[$0]?.generation }
                actions.append(.pushTemplate(agent: agent.name, instance: instance.id, generation: generation))
            } else if agent.spec.cloneFrom != nil, !instance.cloneSummaryDone, let parentID = instance.parentInstance ?? parent?.id {
                actions.append(.sendCloneSummary(agent: agent.name, instance: instance.id, parentInstance: parentID))
            }
        }
        for tool in config.toolsToProvision(instance.tools) {
            actions.append(.provisionTool(agent: agent.name, instance: instance.id, tool: tool))
        }
        for tool in config.extraTools(instance.tools) {
            actions.append(.deprovisionTool(agent: agent.name, instance: instance.id, tool: tool, resourceID: instance.tools[tool]?.resourceId))
        }
        return actions
    }

    static func planPool(_ pool: PoolView, input: PlannerInput, tally: some Sequence<(key: FleetIndex.TallyKey, value: Int)>,
                         waitingForThisPool: Int) -> [Action] {
        guard let digest = pool.digest else { return [] }
        // Counts from the index's tally; the idle instances are listed (and sorted) below only when
        // some are to go: a steady pool of tens of thousands lists none.
        var active = 0, provisioning = 0, startingOnDigest = 0, provenOnDigest = false, freshIdle = 0, staleIdle = 0
        for (key, n) in tally {
            switch key.state {
            case .deleting: continue
            case .provisioning:
                provisioning += n
                if key.digest == digest { startingOnDigest += n }
            case .claimed:
                if key.digest == digest { provenOnDigest = true }
            case .idle where !key.deployFailed:
                if key.digest == digest { freshIdle += n; provenOnDigest = true } else { staleIdle += n }
            case .idle, .failed: break
            }
            active += n
        }
        /// The pool's usable idle instances on the digest (`fresh`) or not, by age.
        func idle(fresh: Bool, newestFirst: Bool) -> [(id: String, createdAt: Date)] {
            input.instances.lazy.filter { $0.pool == pool.name && $0.state == .idle && !$0.deployFailed && ($0.digest == digest) == fresh }
                .map { ($0.id, $0.createdAt) }.sorted { newestFirst ? $0.createdAt > $1.createdAt : $0.createdAt < $1.createdAt }
        }
        var actions: [Action] = []

        // Waiting agents take idle instances (those bound this tick no longer count as idle):
        // keep minIdle on top of what they take.
        let wanted = pool.spec.minIdle + waitingForThisPool
        let deficit = wanted - (freshIdle + provisioning)
        let room = pool.spec.maxInstances - active
        let budget = input.settings.createBudget[pool.name] ?? 1
        // A digest that keeps failing is not fed more projects (`CrashLoop`).
        let allowance = CrashLoop.allowance(pool, proven: provenOnDigest, starting: startingOnDigest, now: input.now, settings: input.settings)
        let count = min(deficit, room, budget, allowance ?? .max)
        if count > 0 { actions.append(.createInstances(pool: pool.name, count: count, digest: digest)) }

        // Old digest: replace a few at a time, only while fresh idle ones keep the pool at minIdle.
        if freshIdle >= pool.spec.minIdle && staleIdle > 0 {
            for instance in idle(fresh: false, newestFirst: false).prefix(input.settings.replaceBatch) {
                actions.append(.teardown(instance: instance.id, reason: "ImageOutdated"))
            }
        }
        // minIdle lowered: the newest surplus idle instances go.
        let surplus = freshIdle - pool.spec.minIdle - waitingForThisPool
        if surplus > 0, waitingForThisPool == 0 {
            for instance in idle(fresh: true, newestFirst: true).prefix(surplus) {
                actions.append(.teardown(instance: instance.id, reason: "ScaledDown"))
            }
        }
        return actions
    }
}
