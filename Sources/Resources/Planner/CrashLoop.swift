import Foundation

/// One instance of a pool that failed (its deploy FAILED or CRASHED, its runtime never ready).
public struct PoolFailure: Sendable, Equatable {
    public var digest: String?
    /// The pool's generation when it failed: a spec change starts the count again.
    public var generation: Int
    public var reason: String
    public var at: Date
    public init(digest: String?, generation: Int, reason: String, at: Date) {
        self.digest = digest
        self.generation = generation
        self.reason = reason
        self.at = at
    }
}

/// The crash-loop rule, pure; the planner (creates) and the status builder (`Progressing`) both
/// call it, so what the pool does and what it says cannot differ.
///
/// Only failures on the pool's current digest and generation count: a new image digest or a spec
/// change starts again. After `failureLimit` of them within `failureWindow` the pool stops creating
/// until the oldest leaves the window. Until an instance on the digest has been ready once (the
/// digest is unproven), no more are started at once than the failures left before the limit: a
/// digest that always fails costs at most `failureLimit` projects in any window, and after the
/// hold it is tried again one instance at a time, each slot coming back a window after its
/// failure (the backoff).
public enum CrashLoop {
    /// Creating stops until `until`; why, for the pool's condition.
    public struct Hold: Sendable, Equatable {
        public var until: Date
        public var failures: Int
        public var lastReason: String
        public var lastAt: Date
    }

    /// Failures that count now: on the current digest and generation, within the window, oldest first.
    public static func counting(_ pool: PoolView, now: Date, settings: PlannerSettings) -> [PoolFailure] {
        pool.failures
            .filter { $0.digest == pool.digest && $0.generation == pool.generation && now.timeIntervalSince($0.at) < settings.failureWindow }
            .sorted { $0.at < $1.at }
    }

    /// Set while the pool must not create.
    public static func hold(_ pool: PoolView, now: Date, settings: PlannerSettings) -> Hold? {
        let failures = counting(pool, now: now, settings: settings)
        guard settings.failureLimit > 0, failures.count >= settings.failureLimit, let last = failures.last else { return nil }
        // The window frees a slot when the failure `limit` places from the end leaves it.
        let freeing = failures[failures.count - settings.failureLimit]
        return Hold(until: freeing.at.addingTimeInterval(settings.failureWindow), failures: failures.count,
                    lastReason: last.reason, lastAt: last.at)
    }

    /// How many more instances may be started now: nil when the digest is proven (no cap beyond
    /// the pool's own), else the failures left before the limit minus those already starting.
    public static func allowance(_ pool: PoolView, proven: Bool, starting: Int, now: Date, settings: PlannerSettings) -> Int? {
        guard settings.failureLimit > 0 else { return nil }
        if hold(pool, now: now, settings: settings) != nil { return 0 }
        if proven { return nil }
        return max(0, settings.failureLimit - counting(pool, now: now, settings: settings).count - starting)
    }
}
