import Foundation
import Resources
import Sync

/// How one action ended. An enum, so "error and requeue" cannot both be said.
public enum ReconcileOutcome: Sendable, Equatable {
    /// Done; the key's failure count resets.
    case converged
    /// Not done yet, nothing wrong (an order pending, a deployment starting): look again later.
    case requeue(after: Duration)
    /// Failed in a way worth retrying: back off.
    case retry(String)
    /// Failed for good until something changes; retried after the queue's `failedDelay`.
    case failed(String)
    /// A provider's quota holds it back until then: not a failure, no backoff grows, nothing dropped.
    case deferred(after: Duration, reason: String)
}

/// Runs actions, keyed by resource: a key never runs twice at once, a key already queued or
/// running coalesces, failures back off per key (exponential, full jitter, capped), and at most
/// `limit` actions run at all, of which a quarter only claim-path actions may take (refills after
/// fifty claims must not hold up those fifty agents' tools). Each action runs as a child of the
/// `TaskSupervisor` it is given (the controller's): none is left running unowned. The reconciler
/// shuts it down on SIGTERM (drain, then cancel and await what is left) and abandons it on lost
/// leadership (those running finish, their writes refused at the fence).
public actor WorkQueue {
    public struct KeyState: Sendable, Codable, Equatable {
        public var failures = 0
        public var lastError: String?
        public var nextAttempt: Date?
        /// The kind of the action that ran last under the key (`provisionTool`).
        public var action: String?
        public init(failures: Int = 0, lastError: String? = nil, nextAttempt: Date? = nil, action: String? = nil) {
            self.failures = failures
            self.lastError = lastError
            self.nextAttempt = nextAttempt
            self.action = action
        }
    }

    package let limit: Int
    /// What actions off the claim path may fill.
    package var backgroundLimit: Int { limit - limit / 4 }
    package let baseDelay: Duration
    package let maxDelay: Duration
    /// A failure no retry fixes (a plan limit, a missing credential) is tried again this much
    /// later: slow enough to be no loop, soon enough to notice a fix.
    package let failedDelay: Duration
    private var running: [String: TaskSupervisor.Child] = [:]
    private let supervisor: TaskSupervisor
    /// Requeued actions that follow themselves (`Action.followsItself`), waiting for their time.
    private var followUps: [String: Task<Void, Never>] = [:]
    public private(set) var keys: [String: KeyState] = [:]
    /// When each key last converged, kept until no plan can be older (`forgetConverged`): a plan
    /// read before then is stale for that key.
    private var convergedAt: [String: Date] = [:]
    private var drainWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    private var stopped = false
    private let run: @Sendable (Action) async -> ReconcileOutcome
    private let onDone: @Sendable (Action, ReconcileOutcome) -> Void
    private let clock: any Clock
    /// The jitter's draw in 0.5...1, injected so tests can pin it.
    private let jitter: @Sendable () -> Double

    public init(limit: Int = 32, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(30),
                failedDelay: Duration = .seconds(600), clock: any Clock = SystemClock(), supervisor: TaskSupervisor = TaskSupervisor(),
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) },
                run: @escaping @Sendable (Action) async -> ReconcileOutcome,
                onDone: @escaping @Sendable (Action, ReconcileOutcome) -> Void = { _, _ in }) {
        self.clock = clock
        self.supervisor = supervisor
        self.jitter = jitter
        self.limit = limit
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.failedDelay = failedDelay
        self.run = run
        self.onDone = onDone
    }

    /// Starts the action unless its key is running, backing off, or the queue is full; or unless
    /// it was planned from a read taken at `plannedAt` and the key converged after that read: the
    /// plan is stale for it. (A claim starts its configure at once; the tick that read the
    /// instance before that configure committed planned it again, for every claim.) The next
    /// plan reads what the action did.
    @discardableResult
    public func submit(_ action: Action, plannedAt: Date? = nil) -> Bool {
        let key = action.key
        let now = clock.now
        guard !stopped, running[key] == nil, running.count < (action.isClaimPath ? limit : backgroundLimit) else { return false }
        if let next = keys[key]?.nextAttempt, next > now { return false }
        if let plannedAt, let done = convergedAt[key], done > plannedAt { return false }
        let child = supervisor.spawn("action \(action.kind)") { [run] in
            let outcome = await run(action)
            await self.finish(action, outcome)
        }
        // Finished already: the supervisor is shutting down and started nothing. (A started body
        // cannot have finished: it ends in `finish`, which waits for this actor.)
        if child.isFinished { return false }
        running[key] = child
        return true
    }

    private func finish(_ action: Action, _ outcome: ReconcileOutcome) {
        let key = action.key
        running[key] = nil
        finished += 1
        var state = keys[key] ?? KeyState()
        state.action = action.kind
        switch outcome {
        case .converged:
            keys[key] = nil
            state = KeyState()
            convergedAt[key] = clock.now
        case .requeue(let after):
            state.nextAttempt = clock.now.addingTimeInterval(Self.seconds(after))
            keys[key] = state
            if action.followsItself && !stopped { followUp(action, after: after) }
        case .deferred(let after, let reason):
            state.lastError = reason
            state.nextAttempt = clock.now.addingTimeInterval(Self.seconds(after))
            keys[key] = state
        case .retry(let error), .failed(let error):
            state.failures += 1
            state.lastError = error
            let ceiling = outcome == .failed(error) ? failedDelay : min(maxDelay, baseDelay * (1 << min(state.failures, 20)))
            // Full jitter between half the ceiling and all of it: retries of many keys spread out.
            state.nextAttempt = clock.now.addingTimeInterval(Self.seconds(ceiling * min(1, max(0.5, jitter()))))
            keys[key] = state
        }
        onDone(action, outcome)
        if running.isEmpty { drainWaiters.values.forEach { $0.resume() }; drainWaiters = [:] }
    }

    /// Submits `action` again once `after` has passed. A tick may submit it first; then this
    /// submit coalesces with it (refused while the key runs) and changes nothing.
    private func followUp(_ action: Action, after: Duration) {
        let key = action.key
        followUps[key]?.cancel()
        followUps[key] = Task { [weak self, clock] in
            try? await clock.sleep(for: after)
            guard !Task.isCancelled else { return }
            await self?.followedUp(action)
        }
    }

    private func followedUp(_ action: Action) {
        followUps[action.key] = nil
        submit(action)
    }

    /// Forgets convergences before `date`: the reconciler's reads from then on see them.
    public func forgetConverged(before date: Date) {
        convergedAt = convergedAt.filter { $0.value > date }
    }

    public var depth: Int { running.count }
    /// Actions finished since the queue was made, whatever their outcome.
    public private(set) var finished = 0
    /// The earliest time a waiting key may run again, if any key waits.
    public var nextDue: Date? { keys.values.compactMap(\.nextAttempt).min() }
    public var backingOff: [String: KeyState] { keys.filter { $0.value.failures > 0 } }

    /// Waits for running actions to finish, or until `timeout`, whichever comes first.
    public func drain(timeout: Duration) async {
        if running.isEmpty { return }
        nextWaiter += 1
        let id = nextWaiter
        await withCheckedContinuation { continuation in
            drainWaiters[id] = continuation
            Task { [weak self, clock] in
                try? await clock.sleep(for: timeout)
                await self?.expireDrain(id)
            }
        }
    }

    private func expireDrain(_ id: Int) { drainWaiters.removeValue(forKey: id)?.resume() }

    /// SIGTERM: nothing new starts; running actions have `timeout` to finish, then are cancelled,
    /// and every one has returned when this does, so none writes after the database closes. A
    /// cancelled action is planned again by the next leader, as after a crash.
    public func shutdown(drain timeout: Duration) async {
        abandon()
        await drain(timeout: timeout)
        let left = Array(running.values)
        for child in left { child.cancel() }
        for child in left { await child.value() }
    }

    /// Leadership lost: nothing new starts, and running actions are left to finish on their own.
    /// They are not cancelled: their writes fail at the fence anyway, their external calls are
    /// idempotent, and their requests run to their end anyway (`URLSession.shieldedData`).
    public func abandon() {
        stopped = true
        // Only sleeping follow-ups: cancelling them cancels no network call.
        followUps.values.forEach { $0.cancel() }
        followUps = [:]
    }

    package static func seconds(_ d: Duration) -> TimeInterval { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
