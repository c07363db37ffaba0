import Sync

/// A circuit breaker per provider. Closed: calls flow. After `threshold` consecutive failures it
/// opens: calls fail at once with `breakerOpen`. After `cooldown` it lets one probe through
/// (half-open); the probe's success closes it, its failure opens it again.
public final class CircuitBreaker: @unchecked Sendable {
    public enum State: String, Sendable, Codable { case closed, open, halfOpen }

    private struct Inner {
        var state: State = .closed
        var failures = 0
        var openedAt: ContinuousClock.Instant?
        var probing = false
        var opens = 0
    }

    private let lock = Locked(Inner())
    let threshold: Int
    let cooldown: Duration
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(threshold: Int = 5, cooldown: Duration = .seconds(5), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.threshold = threshold
        self.cooldown = cooldown
        self.now = now
    }

    public var state: State { lock.withLock { $0.state } }
    /// Times it has opened since start.
    public var opens: Int { lock.withLock { $0.opens } }

    /// Whether a call may go out now. In half-open, only one probe at a time.
    func allow() -> Bool {
        let t = now()
        return lock.withLock { s in
            switch s.state {
            case .closed: return true
            case .open:
                guard let opened = s.openedAt, t - opened >= cooldown else { return false }
                s.state = .halfOpen
                s.probing = true
                return true
            case .halfOpen:
                if s.probing { return false }
                s.probing = true
                return true
            }
        }
    }

    func recordSuccess() {
        lock.withLock { s in
            s.state = .closed
            s.failures = 0
            s.probing = false
        }
    }

    func recordFailure() {
        let t = now()
        lock.withLock { s in
            s.failures += 1
            s.probing = false
            if s.state == .halfOpen || s.failures >= threshold {
                if s.state != .open { s.opens += 1 }
                s.state = .open
                s.openedAt = t
            }
        }
    }

    /// A call that was allowed but never reached the provider (cancelled): frees the probe slot.
    func recordAbandoned() { lock.withLock { $0.probing = false } }
}
