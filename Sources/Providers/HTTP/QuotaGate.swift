import Foundation
import Sync

/// What a provider says of one credential's quota, from its `X-RateLimit-*` headers and its 429s,
/// and the time before which no call is sent on it.
///
/// Every `ProviderHTTPClient` has one for its credential; Railway has one per token of its pool.
/// A call while blocked fails at once with `.rateLimited` and the time left, without a request:
/// the caller defers its work to then (the work queue's `deferred` outcome) instead of dropping it
/// or burning a retry. Thread-safe; the clock is injected for tests.
public final class QuotaGate: Sendable {
    /// A copy of the state, for `/status` and `/metrics`.
    public struct Snapshot: Sendable, Equatable, Codable {
        public var limit: Int?
        public var remaining: Int?
        public var resetAt: Date?
        /// Nothing is sent before this (a 429's `Retry-After`, or a quota used up until its reset).
        public var blockedUntil: Date?
    }

    private let state = Locked(Snapshot())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { SystemClock().now }) { self.now = now }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// The time left before a call may be sent, or nil when it may be sent now.
    public func wait() -> Duration? {
        let t = now()
        return state.withLock { s in
            guard let until = s.blockedUntil, until > t else { return nil }
            return .milliseconds(Int64(until.timeIntervalSince(t) * 1000))
        }
    }

    /// Reads `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds from now, or a Unix time) of
    /// any answer; a quota used up blocks until its reset.
    public func observe(headers: [String: String]) {
        let t = now()
        let limit = headers["x-ratelimit-limit"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let remaining = headers["x-ratelimit-remaining"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let reset = headers["x-ratelimit-reset"].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.map { value in
            // Large values are epoch seconds; small ones, seconds from now.
            value > 1_000_000_000 ? Date(timeIntervalSince1970: value) : t.addingTimeInterval(value)
        }
        guard limit != nil || remaining != nil || reset != nil else { return }
        state.withLock { s in
            if let limit { s.limit = limit }
            if let remaining { s.remaining = remaining }
            if let reset { s.resetAt = reset }
            if remaining == 0, let until = reset ?? s.resetAt, until > t { s.blockedUntil = max(s.blockedUntil ?? until, until) }
        }
    }

    /// A 429 (or a provider's own "too quickly" error): nothing is sent for `retryAfter`.
    public func block(for retryAfter: Duration) {
        let until = now().addingTimeInterval(Double(retryAfter.components.seconds) + Double(retryAfter.components.attoseconds) / 1e18)
        state.withLock { s in s.blockedUntil = max(s.blockedUntil ?? until, until) }
    }
}
