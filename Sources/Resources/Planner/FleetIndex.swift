import Foundation

/// Positions in a `PlannerInput`'s arrays, by key: what the planner and the tick's status writer
/// look up instead of passing over the fleet (at 50,000 instances each pass that hashed every
/// name cost milliseconds, and a tick made several). Built from an input (`init(_:)`), or kept by
/// the reconciler's cache as rows change, which must give the same index (its debug builds check).
public struct FleetIndex: Sendable, Equatable {
    /// Each instance's position, by id.
    public var instanceAt: [String: Int] = [:]
    /// Each agent's position, by name (the first of a name).
    public var agentAt: [String: Int] = [:]
    /// The position of each agent's instance, by agent name: of the instances bound to it (one,
    /// unless a race left two), the one with the smallest id, so any order of the array gives the same.
    public var instanceOfAgent: [String: Int] = [:]
    /// The agents with no instance (waiting for one, or being removed): the planner binds the
    /// waiting ones without looking at every agent.
    public var unbound: Set<String> = []
    /// Instances by pool, state, digest and whether their deploy failed: the pool passes' counts
    /// (idle left to bind, refill, the digest proven) without a pass over the fleet.
    public var tally: [TallyKey: Int] = [:]
    /// Instances whose variables wait to be handed to their runtime.
    public var envPending: Set<String> = []
    /// Instances with an upgrade under way or asked for (`self-upgrade`): a rollout's followers.
    public var upgrading: Set<String> = []

    /// One cell of `tally`.
    public struct TallyKey: Hashable, Sendable {
        public var pool: String
        public var state: InstanceState
        public var digest: String?
        public var deployFailed: Bool
    }

    public init() {}

    public init(_ input: PlannerInput) {
        instanceAt.reserveCapacity(input.instances.count)
        instanceOfAgent.reserveCapacity(input.instances.count)
        agentAt.reserveCapacity(input.agents.count)
        for (k, i) in input.instances.enumerated() {
            instanceAt[i.id] = k
            if let agent = i.agent { bind(agent, at: k, in: input.instances) }
            count(i, 1)
        }
        for (k, agent) in input.agents.enumerated() where agentAt[agent.name] == nil { agentAt[agent.name] = k }
        unbound = Set(agentAt.keys.filter { instanceOfAgent[$0] == nil })
    }

    /// Adds (`by` 1) or takes away (-1) an instance's share of the tally and of the sets.
    mutating func count(_ i: InstanceView, _ by: Int) {
        let key = TallyKey(pool: i.pool, state: i.state, digest: i.digest, deployFailed: i.deployFailed)
        let n = (tally[key] ?? 0) + by
        tally[key] = n == 0 ? nil : n
        let on = by > 0
        if i.envPending { if on { envPending.insert(i.id) } else { envPending.remove(i.id) } }
        if i.upgradePhase != nil || i.upgradeRequested { if on { upgrading.insert(i.id) } else { upgrading.remove(i.id) } }
    }

    /// The pool's instances as `tally` counts them, each cell once.
    public func tally(of pool: String) -> some Sequence<(key: TallyKey, value: Int)> {
        tally.lazy.filter { $0.key.pool == pool }
    }

    /// `instances[k]` is bound to `agent`: it becomes the agent's instance unless one with a smaller id is.
    mutating func bind(_ agent: String, at k: Int, in instances: [InstanceView]) {
        if let held = instanceOfAgent[agent], held != k, instances[held].id < instances[k].id { return }
        instanceOfAgent[agent] = k
        unbound.remove(agent)
    }

    /// `instances[k]` is no longer bound to `agent` (unbound, or about to be removed): another of its
    /// instances takes its place, found by a pass (rare: two instances of one agent are a race's).
    mutating func unbind(_ agent: String, at k: Int, in instances: [InstanceView]) {
        guard instanceOfAgent[agent] == k else { return }
        instanceOfAgent[agent] = nil
        for (j, i) in instances.enumerated() where j != k && i.agent == agent { bind(agent, at: j, in: instances) }
        if instanceOfAgent[agent] == nil && agentAt[agent] != nil { unbound.insert(agent) }
    }

    /// Sets `instances[k]` to `view` (the same instance, seen again), keeping the index.
    public mutating func replace(_ k: Int, with view: InstanceView, in instances: inout [InstanceView]) {
        let was = instances[k].agent
        count(instances[k], -1)
        count(view, 1)
        instances[k] = view
        guard was != view.agent else { return }
        if let was { unbind(was, at: k, in: instances) }
        if let agent = view.agent { bind(agent, at: k, in: instances) }
    }

    /// Appends a new instance, keeping the index.
    public mutating func append(_ view: InstanceView, to instances: inout [InstanceView]) {
        instanceAt[view.id] = instances.count
        count(view, 1)
        instances.append(view)
        if let agent = view.agent { bind(agent, at: instances.count - 1, in: instances) }
    }

    /// Removes `instances[k]`, the last one taking its place, keeping the index.
    public mutating func remove(_ k: Int, from instances: inout [InstanceView]) {
        let gone = instances[k], last = instances.count - 1
        instanceAt[gone.id] = nil
        count(gone, -1)
        if let agent = gone.agent { unbind(agent, at: k, in: instances) }
        if k != last {
            let moved = instances[last]
            if let agent = moved.agent, instanceOfAgent[agent] == last { instanceOfAgent[agent] = k }
            instances.swapAt(k, last)
            instanceAt[moved.id] = k
        }
        instances.removeLast()
    }

    /// Sets an agent seen again (`agents[k]` already) or appends a new one, keeping the index; agents
    /// are unique by name here (the cache's rows).
    public mutating func set(_ agent: AgentView, in agents: inout [AgentView]) {
        if let k = agentAt[agent.name] { agents[k] = agent; return }
        agentAt[agent.name] = agents.count
        agents.append(agent)
        if instanceOfAgent[agent.name] == nil { unbound.insert(agent.name) }
    }

    /// Removes the agent named `name`, the last one taking its place, keeping the index.
    public mutating func removeAgent(_ name: String, from agents: inout [AgentView]) {
        guard let k = agentAt.removeValue(forKey: name) else { return }
        unbound.remove(name)
        let last = agents.count - 1
        if k != last {
            agents.swapAt(k, last)
            agentAt[agents[k].name] = k
        }
        agents.removeLast()
    }

    /// The positions of `keys` in the order of the array (`keys` not in it are skipped): a scoped
    /// pass visits the changed few in the order a whole pass would.
    public static func positions(of keys: Set<String>, in at: [String: Int]) -> [Int] {
        keys.compactMap { at[$0] }.sorted()
    }
}
