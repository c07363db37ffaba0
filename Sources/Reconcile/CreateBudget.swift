/// Slow start per pool: creates per tick start at 1 and double while they succeed, under a cap, and
/// fall back to 1 when one fails (daytona #3289's churn, avoided). Told by the executor how each
/// create went; read by each tick for the planner.
package actor CreateBudget {
    private var budget: [String: Int] = [:]
    private let cap: Int

    package init(cap: Int) { self.cap = cap }

    /// A create of `created` instances went through (`ok`), or one failed.
    package func record(pool: String, created: Int, ok: Bool) {
        let current = budget[pool] ?? 1
        budget[pool] = ok ? min(cap, max(current, created) * 2) : 1
    }

    /// Each pool's creates allowed this tick.
    package func budgets(for pools: [String]) -> [String: Int] {
        Dictionary(pools.map { ($0, budget[$0] ?? 1) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Told once an agent's conversation is recorded, so claims waiting for its invite answer now.
/// The API's claim waiters listen; a test may pass its own.
public protocol ConversationListener: Sendable {
    func configured(agent: String)
}
