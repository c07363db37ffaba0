import Foundation
import Testing
@testable import Resources

/// The index the reconciler's cache keeps by hand, change by change, equals the one built from the
/// arrays: over random appends, rebinds and removals of instances and of agents (the last one
/// moving into the gap), with agents that two instances claim at once and instances whose agent is
/// gone, and instances that change pool, state, digest, health, pending variables and upgrade (the
/// tally and its sets). Seeded, so a failing case prints its seed to replay.
@Suite struct FleetIndexTests {
    @Test func anIndexKeptChangeByChangeEqualsOneBuiltFromTheArrays() {
        var failures: [String] = []
        for seed in 1...1000 {
            var rng = SplitMix(seed: UInt64(seed))
            var input = PlannerInput(now: Date(timeIntervalSince1970: 0), pools: [], templates: [:], agents: [], instances: [])
            var index = FleetIndex()
            var nextID = 0
            for step in 0..<40 {
                let agent = rng.int(3) == 0 ? nil : "a\(rng.int(6))"
                switch input.instances.isEmpty ? 0 : rng.int(5) {
                case 0:
                    // Ids out of order, so the smallest-id rule is not the array's order.
                    var view = InstanceView(id: "i\(String(format: "%03d", (nextID * 37) % 1000))", pool: "p", state: agent == nil ? .idle : .claimed,
                                            agent: agent, createdAt: Date(timeIntervalSince1970: 0))
                    vary(&view, &rng)
                    nextID += 1
                    index.append(view, to: &input.instances)
                case 3:
                    let name = "a\(rng.int(6))"
                    index.set(AgentView(name: name, spec: AgentSpec(), createdAt: Date(timeIntervalSince1970: Double(step))), in: &input.agents)
                case 4:
                    index.removeAgent("a\(rng.int(6))", from: &input.agents)
                case 1:
                    let k = rng.int(input.instances.count)
                    var view = input.instances[k]
                    view.agent = agent
                    if rng.int(2) == 0 { vary(&view, &rng) }
                    index.replace(k, with: view, in: &input.instances)
                default:
                    index.remove(rng.int(input.instances.count), from: &input.instances)
                }
                if index != FleetIndex(input) {
                    failures.append("seed \(seed), step \(step): kept \(index), built \(FleetIndex(input))")
                    break
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of 1000 cases differ; first: \(failures.first ?? "")")
    }

    /// What the tally counts and its sets hold, at random.
    func vary(_ view: inout InstanceView, _ rng: inout SplitMix) {
        view.pool = ["p", "q"][rng.int(2)]
        view.state = [.provisioning, .idle, .claimed, .failed, .deleting][rng.int(5)]
        view.digest = ["sha256:a", "sha256:b", nil][rng.int(3)]
        view.health = [.healthy, .deployFailed, nil][rng.int(3)]
        view.envPending = rng.int(3) == 0
        view.upgradePhase = rng.int(4) == 0 ? .upgrading : nil
        view.upgradeRequested = rng.int(4) == 0
    }

    /// Of two instances bound to one agent, the one with the smaller id is its instance, wherever
    /// each sits in the array.
    @Test func theSmallestIdIsTheAgentsInstance() {
        let t = Date(timeIntervalSince1970: 0)
        let a = InstanceView(id: "i2", pool: "p", state: .claimed, agent: "x", createdAt: t)
        let b = InstanceView(id: "i1", pool: "p", state: .claimed, agent: "x", createdAt: t)
        for instances in [[a, b], [b, a]] {
            let index = FleetIndex(PlannerInput(now: t, pools: [], templates: [:], agents: [], instances: instances))
            #expect(index.instanceOfAgent["x"].map { instances[$0].id } == "i1")
        }
    }
}
