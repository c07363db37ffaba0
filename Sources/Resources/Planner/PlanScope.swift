/// What one tick plans object by object: the instances and agents that changed since the last tick
/// (the dirty log, the status batch), and those the last plan said to keep watching. Everything
/// planned for the fleet as a whole (refills, bindings of waiting agents, rollouts, orphans, the
/// audit) is planned every tick whatever the scope. Built by the reconciler; nil scope: everything.
///
/// The promise, held by `IncrementalPlanTests` over random states and changes: an instance or agent
/// outside the scope, which neither changed nor was watched, has no action in the full plan.
public struct PlanScope: Sendable, Equatable {
    public var instances: Set<String>
    public var agents: Set<String>

    public init(instances: Set<String> = [], agents: Set<String> = []) {
        self.instances = instances
        self.agents = agents
    }

    public mutating func formUnion(_ other: PlanScope) {
        instances.formUnion(other.instances)
        agents.formUnion(other.agents)
    }

    public var isEmpty: Bool { instances.isEmpty && agents.isEmpty }

    /// What changed, with what depends on it: an instance's agent (its plan reads the instance),
    /// and each agent of a changed template (its configuration is the template's). Pools need no
    /// expansion: what of an instance's plan reads its pool (the image of a start) is only planned
    /// for provisioning instances, which are always watched.
    /// `instanceAt`: each instance's position in `input.instances`, when the caller keeps one (a
    /// tick: no pass over the fleet for a few changes).
    public static func expanding(instances: Set<String>, agents: Set<String>, templates: Set<String>, in input: PlannerInput,
                                 instanceAt: [String: Int]? = nil) -> PlanScope {
        var scope = PlanScope(instances: instances, agents: agents)
        if let instanceAt {
            for id in instances { if let k = instanceAt[id], let agent = input.instances[k].agent { scope.agents.insert(agent) } }
        } else if !instances.isEmpty {
            for instance in input.instances where instances.contains(instance.id) {
                if let agent = instance.agent { scope.agents.insert(agent) }
            }
        }
        if !templates.isEmpty {
            for agent in input.agents where agent.spec.template.map(templates.contains) ?? false { scope.agents.insert(agent.name) }
        }
        return scope
    }
}

/// One tick's plan, and the objects to plan again next tick even if nothing about them changes.
public struct ScopedPlan: Sendable, Equatable {
    public var actions: [Action]
    /// Objects with an action this tick (until their state changes they would have it again), and
    /// those waiting on time or on another object: a provisioning instance (its stuck timeout), a
    /// clone waiting for its parent's instance.
    public var watch: PlanScope
}
