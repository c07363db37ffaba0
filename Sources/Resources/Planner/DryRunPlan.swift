import Foundation

/// What a change would make the reconciler do: the real planner run on the state before and on the
/// would-be state after it, each carried forward through the binds it plans, and only the actions
/// the change adds. Pure; `apply?dryRun=true` calls it with state read inside its own transaction.
///
/// Carrying forward: a bind is the first step of a new agent, so the plan of the bound state is
/// run too (the agent on the oldest idle instance of its pool), giving what follows it: configure
/// and each tool's provision. A bind with no idle instance stays a bind (the agent waits).
public enum DryRunPlan {
    public static func actions(before: PlannerInput, after: PlannerInput) -> [Action] {
        let existing = forward(before)
        return forward(after).filter { !existing.contains($0) }
    }

    static func forward(_ input: PlannerInput) -> [Action] {
        var input = input
        let first = Planner.plan(input)
        var bound: Set<String> = []
        for case .bindAgent(let agent, let pool) in first {
            guard let i = input.instances.indices
                .filter({ input.instances[$0].pool == pool && input.instances[$0].state == .idle && input.instances[$0].agent == nil
                          && !input.instances[$0].deployFailed })
                .min(by: { input.instances[$0].createdAt < input.instances[$1].createdAt }) else { continue }
            input.instances[i].state = .claimed
            input.instances[i].agent = agent
            bound.insert(agent)
        }
        // Changed behind the index's back: the next plan builds its own.
        input.index = nil
        guard !bound.isEmpty else { return first }
        let next = Planner.plan(input).filter { action in
            action.object.kind == "agent" && bound.contains(action.object.name) && !first.contains(action)
        }
        return first + next
    }
}
