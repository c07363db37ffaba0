import Foundation

/// Time, injected: what "now" is and how to wait. The work queue, the reconciler and the leader
/// lease take one; production passes `SystemClock`, tests a `ManualClock` they move by hand, so
/// backoff, coalescing and lease expiry are tested without sleeping.
///
/// Named after the design's word for it; it shadows the standard library's `Clock` protocol in
/// modules that import `Sync` (they never use that one).
public protocol Clock: Sendable {
    /// The wall time: what is shown (next attempt, last tick) and stored.
    var now: Date { get }
    /// Monotonic time since a fixed point of this clock's: it never goes back and never jumps
    /// with the wall clock (an NTP step, a suspended VM's catch-up). Deadlines are measured on it.
    var monotonic: Duration { get }
    /// Waits `duration` of this clock's time; throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws
}

/// The machine's clock: `Date()` and `Task.sleep`.
public struct SystemClock: Clock {
    public init() {}
    public var now: Date { Date() }
    public var monotonic: Duration { ContinuousClock.now - Self.origin }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
    private static let origin = ContinuousClock.now
}

/// A clock that moves only when told (`advance`): sleepers wake when it passes their deadline.
public final class ManualClock: Clock, @unchecked Sendable {
    private struct Sleeper {
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Date
        var elapsed: Duration = .zero
        var sleepers: [UUID: Sleeper] = [:]
    }
    private let state: Locked<State>

    public init(now: Date = Date(timeIntervalSince1970: 1_800_000_000)) { state = Locked(State(now: now)) }

    public var now: Date { state.withLock { $0.now } }
    public var monotonic: Duration { state.withLock { $0.elapsed } }

    /// How many are asleep on this clock: a test waits for its subject to go to sleep before advancing.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    public func sleep(for duration: Duration) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let due: Bool = state.withLock { s in
                    // Cancelled before it slept: the cancel handler found nothing to wake.
                    if Task.isCancelled { return true }
                    let deadline = s.now.addingTimeInterval(Self.seconds(duration))
                    if deadline <= s.now { return true }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if due { Task.isCancelled ? continuation.resume(throwing: CancellationError()) : continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on; every sleeper whose deadline has come wakes.
    public func advance(by duration: Duration) {
        let woken: [Sleeper] = state.withLock { s in
            s.now = s.now.addingTimeInterval(Self.seconds(duration))
            s.elapsed += duration
            let due = s.sleepers.filter { $0.value.deadline <= s.now }
            for id in due.keys { s.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    static func seconds(_ d: Duration) -> TimeInterval { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}

extension Duration {
    /// The duration in seconds, as Foundation's dates count.
    public var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
