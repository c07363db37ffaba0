import Sync

/// Calls to one provider by operation and outcome, with latency sums, and the retries made:
/// what `/status` and `/metrics` show. Outcomes are classes, never messages, so no secret can reach them.
public final class ProviderStats: Sendable {
    public struct Counter: Sendable, Equatable {
        public var count = 0
        public var latencySeconds = 0.0
    }

    public let provider: String
    private let inner = Locked((calls: [String: Counter](), retries: 0))

    init(provider: String) { self.provider = provider }

    func record(_ operation: String, outcome: String, latency: Duration) {
        let seconds = Double(latency.components.seconds) + Double(latency.components.attoseconds) / 1e18
        inner.withLock { s in
            s.calls["\(operation)|\(outcome)", default: Counter()].count += 1
            s.calls["\(operation)|\(outcome)", default: Counter()].latencySeconds += seconds
        }
    }

    func recordRetry() { inner.withLock { $0.retries += 1 } }

    /// `operation|outcome` to counter.
    public var calls: [String: Counter] { inner.withLock { $0.calls } }
    public var retries: Int { inner.withLock { $0.retries } }

    /// Calls with a given outcome, over all operations.
    public func count(outcome: String) -> Int {
        calls.filter { $0.key.hasSuffix("|" + outcome) }.values.reduce(0) { $0 + $1.count }
    }
    public var total: Int { calls.values.reduce(0) { $0 + $1.count } }
}
