import Foundation
import Testing
@testable import Resources

/// The incremental tick's promise, over random fleets and random changes: planning only what
/// changed (with what depends on it, `PlanScope.expanding`) and what the last plan watched gives
/// exactly the full plan of the new state. Seeded, so a failing case prints its seed to replay.
@Suite struct IncrementalPlanTests {
    @Test func incrementalPlanEqualsFullPlanOverRandomChanges() {
        var failures: [String] = []
        for seed in 1...1000 {
            var g = Gen(seed: UInt64(seed))
            let before = g.fleet()
            let watched = Planner.plan(before, scope: nil).watch
            var after = before
            let changed = g.change(&after)
            var scope = PlanScope.expanding(instances: changed.instances, agents: changed.agents, templates: changed.templates, in: after)
            scope.formUnion(watched)
            let incremental = Planner.plan(after, scope: scope).actions.map(\.description).sorted()
            let full = Planner.plan(after).map(\.description).sorted()
            if incremental != full {
                failures.append("seed \(seed): full plan has \(Set(full).subtracting(incremental).sorted()), incremental has \(Set(incremental).subtracting(full).sorted())")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of 1000 cases differ; first: \(failures.first ?? "")")
    }

    /// The scope is what makes a tick cheap: a quiet fleet watches nothing it has no action for.
    @Test func aConvergedFleetWatchesNothing() {
        var input = PlannerInput(now: Gen.t0, pools: [PoolView(name: "default", spec: PoolSpec(minIdle: 0, maxInstances: 10, image: Gen.image), digest: Gen.d1)],
                                 templates: ["t": TemplateView(name: "t", spec: AgentTemplateSpec(agentName: "T", instructions: "I"), generation: 1)],
                                 agents: [AgentView(name: "a", spec: AgentSpec(template: "t"), createdAt: Gen.t0)],
                                 instances: [InstanceView(id: "i1", pool: "default", state: .claimed, digest: Gen.d1, url: "http://x", agent: "a",
                                                          createdAt: Gen.t0, conversationId: "c",
                                                          runtimeConfig: RuntimeConfig(agentName: "T", instructions: "I", model: nil))])
        input.instances[0].tools = [.openrouter: ToolView(state: .ready)]
        let plan = Planner.plan(input, scope: nil)
        #expect(plan.actions == [])
        #expect(plan.watch.isEmpty)
    }

    /// A dependency random cases rarely reach: a configured clone with nothing to do waits for its
    /// parent's instance, which changes another row than its own.
    @Test func aCloneWaitingForItsParentIsWatched() {
        let config = RuntimeConfig(agentName: "T", instructions: "I", model: nil)
        var input = PlannerInput(now: Gen.t0, pools: [PoolView(name: "default", spec: PoolSpec(minIdle: 0, maxInstances: 10, image: Gen.image), digest: Gen.d1)],
                                 templates: ["t": TemplateView(name: "t", spec: AgentTemplateSpec(agentName: "T", instructions: "I"), generation: 1)],
                                 agents: [AgentView(name: "parent", spec: AgentSpec(template: "t"), createdAt: Gen.t0),
                                          AgentView(name: "child", spec: AgentSpec(template: "t", cloneFrom: "parent"), createdAt: Gen.t0)],
                                 instances: [InstanceView(id: "c1", pool: "default", state: .claimed, digest: Gen.d1, url: "http://x", agent: "child",
                                                          createdAt: Gen.t0, tools: [.openrouter: ToolView(state: .ready)], conversationId: "c",
                                                          runtimeConfig: config)])
        let before = Planner.plan(input, scope: nil)
        // The waiting parent's instance is asked for; the clone itself has nothing to do.
        #expect(before.actions == [.createInstances(pool: "default", count: 1, digest: Gen.d1)])
        #expect(before.watch.agents == ["child"])
        // The parent is bound: only its instance is new, and the clone's summary follows at once.
        input.instances.append(InstanceView(id: "p1", pool: "default", state: .claimed, digest: Gen.d1, url: "http://y", agent: "parent",
                                            createdAt: Gen.t0, tools: [.openrouter: ToolView(state: .ready)], conversationId: "p",
                                            runtimeConfig: config))
        var scope = PlanScope.expanding(instances: ["p1"], agents: [], templates: [], in: input)
        scope.formUnion(before.watch)
        #expect(Planner.plan(input, scope: scope).actions == [.sendCloneSummary(agent: "child", instance: "c1", parentInstance: "p1")])
    }
}

/// A small seeded generator of planner inputs (SplitMix64), sized so that collisions happen:
/// few pools, templates, agents and instances, every field drawn from a handful of values.
private struct Gen {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let d1 = "sha256:" + String(repeating: "1", count: 64)
    static let d2 = "sha256:" + String(repeating: "2", count: 64)
    static let image = "ghcr.io/xmtplabs/convos-runtime:production"
    var random: SplitMix
    init(seed: UInt64) { random = SplitMix(seed: seed &* 0x9E37_79B9_7F4A_7C15) }

    mutating func next() -> UInt64 { random.next() }
    mutating func int(_ n: Int) -> Int { random.int(n) }
    mutating func bool(_ p: Double = 0.5) -> Bool { Double(next() % 10_000) / 10_000 < p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func maybe<T>(_ x: T, _ p: Double = 0.5) -> T? { bool(p) ? x : nil }

    static let pools = ["default", "p2"]
    static let templates = ["t1", "t2", "t3"]

    mutating func fleet() -> PlannerInput {
        var input = PlannerInput(now: Self.t0, pools: [], templates: [:], agents: [], instances: [])
        input.pools = Self.pools.prefix(1 + int(2)).map { pool($0) }
        for name in Self.templates where bool(0.7) { input.templates[name] = template(name, generation: 1) }
        input.agents = (0..<int(9)).map { agent("a\($0)") }
        let count = int(11)
        var free = input.agents.map(\.name).shuffled(using: &self)
        input.instances = (0..<count).map { k in instance("i\(k)", agent: free.popLast()) }
        converge(&input)
        return input
    }

    /// Half the claimed instances run exactly their agent's configuration, so that what follows a
    /// configuration (clone summaries, tools) is reached often.
    mutating func converge(_ input: inout PlannerInput) {
        let agents = Dictionary(input.agents.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for k in input.instances.indices {
            guard let agent = input.instances[k].agent.flatMap({ agents[$0] }), bool(0.5) else { continue }
            input.instances[k].runtimeConfig = RuntimeConfig(agent.config(input.templates))
            input.instances[k].conversationId = "conv"
            input.instances[k].acceptance = nil
            if bool(0.5) { input.instances[k].parentInstance = nil }
        }
    }

    mutating func pool(_ name: String) -> PoolView {
        var spec = PoolSpec(minIdle: int(3), maxInstances: 2 + int(8), image: Self.image)
        if bool(0.3) { spec.rollout = RolloutPolicy(claimed: pick([.auto, .manual, .never]), maxUnavailable: pick([.count(1), .percent(50)]), canary: maybe(1)) }
        var pool = PoolView(name: name, spec: spec, digest: pick([Self.d1, Self.d2, nil]), generation: 1 + int(2))
        if bool(0.3) { pool.rollout = RolloutView(targetDigest: pick([Self.d1, Self.d2]), previousDigest: Self.d1, startedAt: Self.t0 - 30, paused: bool(0.2), undo: bool(0.2)) }
        return pool
    }

    mutating func template(_ name: String, generation: Int) -> TemplateView {
        let tools = [ToolName.email, .sms, .crypto].filter { _ in bool(0.3) }.map { TemplateTool($0) }
        let spec = AgentTemplateSpec(agentName: pick(["A", "B"]), instructions: pick(["x", "y"]), model: maybe(ModelChoice(default: "m/1")),
                                     tools: tools, openrouter: maybe(OpenRouterSettings(limitUsd: 5)), pool: maybe(pick(Self.pools), 0.3))
        return TemplateView(name: name, spec: spec, generation: generation)
    }

    mutating func agent(_ name: String) -> AgentView {
        let spec = AgentSpec(template: maybe(pick(Self.templates), 0.8), owner: "o", cloneFrom: maybe("a\(int(9))", 0.15),
                             onInstanceLost: maybe(.fail, 0.2), runtimeImage: maybe("ghcr.io/x/y:1", 0.1))
        return AgentView(name: name, spec: spec, deleting: bool(0.1), createdAt: Self.t0 - Double(int(1000)))
    }

    mutating func tools() -> [ToolName: ToolView] {
        var tools: [ToolName: ToolView] = [:]
        for tool in ToolName.allCases where bool(0.5) {
            tools[tool] = ToolView(state: pick([.ready, .ready, .creating, .deleted]), delivered: bool(0.8),
                                   config: bool(0.5) ? ["limitUsd": "5"] : [:])
        }
        return tools
    }

    mutating func instance(_ id: String, agent: String?) -> InstanceView {
        let claimed = agent != nil && bool(0.8)
        let state: InstanceState = claimed ? .claimed : pick([.provisioning, .idle, .idle, .failed, .deleting])
        var i = InstanceView(id: id, pool: pick(Self.pools), state: state, digest: maybe(pick([Self.d1, Self.d2]), 0.9), url: maybe("http://x/\(id)", 0.9),
                             agent: claimed || (state == .failed && bool(0.3)) ? agent : nil, createdAt: Self.t0 - Double(int(2000)),
                             setup: pick([.created, .created, .created, .creating, .missing, .deleted]),
                             health: maybe(pick([.healthy, .healthy, .deploying, .unreachable, .deployFailed]), 0.9),
                             deployStatus: maybe(pick([.success, .success, .deploying, .crashed, .missing]), 0.9), tools: tools(),
                             envPending: bool(0.1), conversationId: maybe("conv", 0.7), inviteUrl: "http://invite",
                             runtimeConfig: maybe(RuntimeConfig(agentName: pick(["A", "B"]), instructions: pick(["x", "y"]), model: maybe("m/1")), 0.7),
                             templateGeneration: 1, cloneSummaryDone: bool(0.5), parentInstance: maybe("i\(int(11))", 0.2))
        i.deployedAt = maybe(Self.t0 - Double(int(2000)))
        i.acceptance = maybe(pick([.pending, .tainted]), 0.1)
        i.variablesUnchecked = bool(0.1)
        if claimed && bool(0.15) {
            i.upgradePhase = pick([.upgrading, .rollingBack])
            i.upgradeTo = Self.d2
            i.upgradeStartedAt = maybe(Self.t0 - Double(int(600)))
        }
        i.upgradeRequested = bool(0.05)
        i.runtimeVersion = maybe(pick(["v1", "v2"]))
        return i
    }

    /// Random changes to `input`, each recorded as the dirty log records it: the row's key.
    mutating func change(_ input: inout PlannerInput) -> (instances: Set<String>, agents: Set<String>, templates: Set<String>) {
        var instances = Set<String>(), agents = Set<String>(), templates = Set<String>()
        for _ in 0..<int(4) {
            switch int(9) {
            case 0 where !input.instances.isEmpty:  // an instance's observed or stored state moves
                let k = int(input.instances.count)
                let fresh = instance(input.instances[k].id, agent: input.instances[k].agent)
                input.instances[k] = fresh
                instances.insert(fresh.id)
            case 1 where !input.instances.isEmpty:  // its tools, health or deploy status alone
                let k = int(input.instances.count)
                input.instances[k].tools = tools()
                input.instances[k].health = pick([.healthy, .unreachable, .deployFailed])
                input.instances[k].deployStatus = pick([.success, .crashed, .missing])
                instances.insert(input.instances[k].id)
            case 2 where !input.instances.isEmpty:  // an instance goes
                let gone = input.instances.remove(at: int(input.instances.count))
                instances.insert(gone.id)
            case 3:  // a new instance, perhaps bound to a waiting agent
                let bound = Set(input.instances.compactMap(\.agent))
                let waiting = input.agents.map(\.name).filter { !bound.contains($0) }
                var fresh = instance("n\(int(1000))", agent: waiting.isEmpty ? nil : maybe(pick(waiting)))
                if let agent = input.agents.first(where: { $0.name == fresh.agent }), bool(0.5) {
                    fresh.runtimeConfig = RuntimeConfig(agent.config(input.templates))
                }
                if !input.instances.contains(where: { $0.id == fresh.id }) { input.instances.append(fresh); instances.insert(fresh.id) }
            case 4 where !input.agents.isEmpty:  // an agent's spec, or its deletion
                let k = int(input.agents.count)
                input.agents[k] = agent(input.agents[k].name)
                agents.insert(input.agents[k].name)
            case 5:  // an agent applied or claimed
                let fresh = agent("b\(int(1000))")
                if !input.agents.contains(where: { $0.name == fresh.name }) { input.agents.append(fresh); agents.insert(fresh.name) }
            case 6 where !input.agents.isEmpty:  // an agent removed
                let gone = input.agents.remove(at: int(input.agents.count))
                agents.insert(gone.name)
            case 7:  // a template applied, changed or deleted
                let name = pick(Self.templates)
                input.templates[name] = bool(0.8) ? template(name, generation: (input.templates[name]?.generation ?? 0) + 1) : nil
                templates.insert(name)
            default:  // a pool changed (pools are planned every tick: not in the dirty set)
                if !input.pools.isEmpty { input.pools[int(input.pools.count)] = pool(pick(Self.pools)) }
            }
        }
        // Time passes between ticks, with nothing recorded for it.
        input.now = input.now + Double(int(1200))
        return (instances, agents, templates)
    }
}

extension Gen: RandomNumberGenerator {}
