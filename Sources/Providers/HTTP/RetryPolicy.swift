import Sync

/// How the HTTP client retries: exponential backoff with full jitter, capped, within a budget.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts = 3
    public var baseDelay: Duration = .milliseconds(100)
    public var maxDelay: Duration = .seconds(2)
    /// A `Retry-After` longer than this is not waited for here; the error goes up with it instead.
    public var maxRetryAfter: Duration = .seconds(10)
    /// Retries allowed per first attempt, on average (0.1 keeps retries under about 10% extra load).
    public var budgetRatio = 0.1
    /// Retries the budget allows in a burst, before the ratio applies.
    public var budgetBurst = 10.0

    public init() {}

    /// Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)].
    public func backoff(attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let ceiling = min(maxDelay, baseDelay * (1 << min(attempt, 20)))
        return ceiling * random
    }
}

/// A token bucket for retries: every first attempt adds `ratio` tokens, every retry spends one.
/// Shared by all calls to one provider, so an outage cannot multiply its own load.
final class RetryBudget: @unchecked Sendable {
    private let lock = Locked((tokens: 0.0, spent: 0, refused: 0))
    private let ratio: Double
    private let burst: Double

    init(ratio: Double, burst: Double) {
        self.ratio = ratio
        self.burst = burst
        lock.withLock { $0.tokens = burst }
    }

    func recordAttempt() { lock.withLock { $0.tokens = min(burst, $0.tokens + ratio) } }

    func tryRetry() -> Bool {
        lock.withLock { state in
            guard state.tokens >= 1 else { state.refused += 1; return false }
            state.tokens -= 1
            state.spent += 1
            return true
        }
    }

    var snapshot: (tokens: Double, spent: Int, refused: Int) { lock.withLock { $0 } }
}
