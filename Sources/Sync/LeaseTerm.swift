import Foundation

/// A leader's term as its writes see it: the fencing token, and until when the term may act by this
/// replica's clock. Made by the Store's `Fence`; checked by the services' writes (`ServicesDB`),
/// which cannot see the lease row's module.
public struct LeaseTerm: Sendable {
    public let token: Int
    public let deadline: LeaseDeadline

    public init(token: Int, deadline: LeaseDeadline) {
        self.token = token
        self.deadline = deadline
    }
}

/// A write refused because its term is over: another replica may lead now.
public struct LeaseLost: Error, CustomStringConvertible {
    public let token: Int
    public init(token: Int) { self.token = token }
    public var description: String { "leadership lost: fencing token \(token) is no longer current" }
}

/// How long a term may still act, by this replica's clock, without asking Postgres: each acquire
/// or renewal moves it to the time the request was sent plus the lease's duration, less a margin
/// for clock rates. Postgres's expiry is later than that (it counts from when the statement ran),
/// and no other replica can take the lease before its expiry, so a check that passes here means
/// no new leader yet, as a lock-free check of the row would, without the round trip. A write that
/// passed the check may still land after the expiry, within that statement's time, as with any
/// lock-free check; the pool schema's writes take the share lock instead (`Fence.transaction`).
public final class LeaseDeadline: Sendable {
    /// On the clock's monotonic time: a wall clock stepped back must not stretch a term.
    private let until = Locked<Duration?>(nil)
    private let clock: any Clock

    public init(clock: any Clock) { self.clock = clock }

    /// A tenth of the lease, at most a second, is kept back for the clocks' rates.
    public func extend(sent: Duration, duration: Duration) {
        let end = sent + duration - min(.seconds(1), duration / 10)
        until.withLock { $0 = max($0 ?? end, end) }
    }

    /// The term ended (lost, released, or a new one began): nothing passes any more.
    /// (Monotonic time starts at zero, so nothing is before it.)
    public func revoke() { until.withLock { $0 = .zero } }

    /// Whether the term may still act now.
    public var holds: Bool { until.withLock { $0 }.map { clock.monotonic < $0 } ?? false }
}
