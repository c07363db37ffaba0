import Foundation

/// Rollouts of a pool's new digest to its claimed agents, as a Deployment's rolling update: at most
/// `maxUnavailable` upgrading at once, `canary` agents proven healthy for a minute first, `Manual`
/// held until `rollout resume`, pinned agents skipped, a failure rolled back and the rollout halted.
/// An upgrade in flight is always followed to its end, whatever the rollout says meanwhile.
extension Planner {
    /// How long an upgraded runtime has to come back ready before it is rolled back.
    public static let upgradeTimeout: TimeInterval = 300

    static func planRollout(_ pool: PoolView, input: PlannerInput, index: FleetIndex) -> [Action] {
        guard let digest = pool.digest, let image = ImageReference(pool.spec.image) else { return [] }
        let imageOf = { (d: String) in "\(image.registry)/\(image.repository)@\(d)" }
        let policy = pool.spec.rollout ?? RolloutPolicy()
        // Agents a rollout may move: claimed, configured, not tainted or waiting, not being deleted,
        // not pinned. Positions first, in the agents' order: views are copied only for what is planned.
        let undo = pool.rollout?.undo ?? false
        let agentAt = index.agentAt
        let mayMove = { (k: Int) -> Bool in
            let i = input.instances[k]
            guard i.pool == pool.name, i.state == .claimed, i.configured, i.acceptance == nil, let name = i.agent, let a = agentAt[name] else { return false }
            return !input.agents[a].deleting && input.agents[a].spec.runtimeImage == nil
        }
        // Those upgrading, and those that would move (asked to, or behind the digest): a steady
        // fleet has none, and its agents are not looked up one by one.
        var inFlightAt: [Int] = [], behindAt: [Int] = []
        // With every claimed instance of the pool on its digest and nothing undone, only those
        // upgrading or asking to can move: the index names them, no pass over the fleet.
        let offDigest = index.tally(of: pool.name).contains { $0.key.state == .claimed && $0.key.digest != digest && $0.value > 0 }
        let candidates = undo || offDigest ? Array(input.instances.indices) : FleetIndex.positions(of: index.upgrading, in: index.instanceAt)
        for k in candidates {
            let i = input.instances[k]
            guard i.state == .claimed, i.pool == pool.name else { continue }
            let inFlight = i.upgradePhase != nil
            guard inFlight || i.upgradeRequested || i.digest != digest || undo, mayMove(k) else { continue }
            if inFlight { inFlightAt.append(k) } else { behindAt.append(k) }
        }
        var actions: [Action] = []
        let version = inFlightAt.isEmpty ? nil : targetVersion(pool, digest: pool.rollout?.goal ?? digest, input: input.instances)
        for k in Self.ordered(inFlightAt, input.instances) { actions += follow(input.instances[k], input: input, image: imageOf, targetVersion: version) }
        // Only the agents that may move are copied and sorted.
        let idle = Self.ordered(behindAt, input.instances).map { input.instances[$0] }
        // `self-upgrade`: the runtime asked for its pool's digest now, through the same gates.
        for i in idle where i.upgradeRequested && i.digest != digest {
            actions.append(.upgradeInstance(instance: i.id, agent: i.agent!, digest: digest, image: imageOf(digest)))
        }
        guard let rollout = pool.rollout, rollout.targetDigest == digest else {
            // A new digest with agents behind it: its rollout is recorded first.
            let behind = idle.filter { $0.digest != digest }
            if !behind.isEmpty, policy.policy != .never {
                let counts = Dictionary(behind.compactMap(\.digest).map { ($0, 1) }, uniquingKeysWith: +)
                let previous = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
                actions.append(.startRollout(pool: pool.name, digest: digest, previous: previous, paused: policy.policy == .manual))
            }
            return actions
        }
        if rollout.halted || rollout.paused || policy.policy == .never { return actions }
        // Undo: each upgraded agent back to the digest it ran before; else every agent onto the target.
        let moves: [(InstanceView, String)] = idle.compactMap { i in
            if rollout.undo {
                guard i.digest == rollout.targetDigest, let back = i.previousDigest, back != i.digest else { return nil }
                return (i, back)
            }
            return i.digest == digest || i.upgradeRequested ? nil : (i, digest)
        }
        guard !moves.isEmpty else { return actions }
        // Every agent a rollout may move, on the target or not: the room and the canaries count them.
        let positions = input.instances.indices.filter(mayMove)
        let idleAt = positions.filter { input.instances[$0].upgradePhase == nil }
        let claimedCount = positions.count
        let inFlight = inFlightAt.count
        var room = policy.unavailable(of: claimedCount) - inFlight
        if policy.canaries > 0, !rollout.undo {
            // The first `canary` agents on the target must have been healthy there a minute before the rest go.
            let onTarget = idleAt.lazy.map { input.instances[$0] }.filter { $0.digest == digest }
            let proven = onTarget.filter { $0.healthy && input.now.timeIntervalSince($0.upgradedAt ?? $0.createdAt) >= input.settings.canaryProof }.count
            let onTargetCount = onTarget.count
            let wanted = min(policy.canaries, claimedCount)
            if proven < wanted { room = min(room, wanted - onTargetCount - inFlight) }
        }
        for (i, goal) in moves.prefix(max(0, room)) {
            actions.append(.upgradeInstance(instance: i.id, agent: i.agent!, digest: goal, image: imageOf(goal)))
        }
        return actions
    }

    /// Positions of `instances` in the agents' order (then the instances'), as rollouts move them.
    static func ordered(_ positions: [Int], _ instances: [InstanceView]) -> [Int] {
        positions.sorted { (instances[$0].agent ?? "", instances[$0].id) < (instances[$1].agent ?? "", instances[$1].id) }
    }

    /// An upgrade in flight: its commit made (`upgradeStartedAt`), then its runtime ready on the new
    /// digest (the target's version, when a runtime on it told), or rolled back when its deploy
    /// failed or it is not ready in `upgradeTimeout`.
    static func follow(_ i: InstanceView, input: PlannerInput, image: (String) -> String, targetVersion: String?) -> [Action] {
        let agent = i.agent!
        guard let started = i.upgradeStartedAt else {
            // The commit did not happen (or was not recorded): it is made again, the same one.
            switch i.upgradePhase {
            case .upgrading?: return i.upgradeTo.map { [.upgradeInstance(instance: i.id, agent: agent, digest: $0, image: image($0))] } ?? []
            case .rollingBack?: return i.digest.map { [.rollBack(instance: i.id, agent: agent, image: image($0), error: i.upgradeError ?? "rolled back")] } ?? []
            case nil: return []
            }
        }
        let ready = i.healthy && (i.deployStatus?.isRunning ?? false)
        switch i.upgradePhase {
        case .upgrading?:
            guard let back = i.digest else { return [] }
            if i.deployFailed {
                return [.rollBack(instance: i.id, agent: agent, image: image(back), error: "its deploy ended \(i.deployStatus ?? .failed)")]
            }
            if ready, targetVersion == nil || i.runtimeVersion == targetVersion { return [.confirmUpgrade(instance: i.id, agent: agent)] }
            if input.now.timeIntervalSince(started) >= upgradeTimeout {
                return [.rollBack(instance: i.id, agent: agent, image: image(back), error: "not ready within \(Int(upgradeTimeout / 60)) minutes")]
            }
            return []
        case .rollingBack?:
            return ready ? [.finishRollback(instance: i.id, agent: agent)] : []
        case nil:
            return []
        }
    }

    /// The version a runtime on `digest` said it runs, when one not upgrading has: the version an
    /// upgrade to it must come back with.
    public static func targetVersion(_ pool: PoolView, digest: String, input instances: [InstanceView]) -> String? {
        instances.first { $0.pool == pool.name && $0.digest == digest && $0.upgradePhase == nil && $0.healthy && $0.runtimeVersion != nil }?
            .runtimeVersion
    }
}
