import Foundation

/// The one owner of a process's long-lived tasks (the reconcile loop, the lease renewal, the tool
/// audit, the webhook registration): each runs as a child of a single task group, so none is lost
/// and none outlives `shutdown()`. The composition root (`Controller`) makes one and hands it to
/// what spawns; a component made alone (in a test) makes its own.
///
/// A child can be stopped on its own (`Child.cancel()`) and awaited (`Child.value()`); the group
/// itself is cancelled only by `shutdown`, after the owners had their chance to stop in order.
public final class TaskSupervisor: Sendable {
    private struct Job: Sendable {
        let name: String
        let child: Child
        let body: @Sendable () async -> Void
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let root: Task<Void, Never>
    private let running = Locked<[ObjectIdentifier: String]>([:])

    public init() {
        let (stream, jobs) = AsyncStream.makeStream(of: Job.self)
        self.jobs = jobs
        let running = self.running
        root = Task {
            await withDiscardingTaskGroup { group in
                for await job in stream {
                    group.addTask {
                        await Self.run(job)
                        // Off the list before its waiters resume: whoever awaited `value()` sees it gone.
                        _ = running.withLock { $0.removeValue(forKey: ObjectIdentifier(job.child)) }
                        job.child.finish()
                    }
                }
            }
        }
    }

    /// Starts `body` as a child of the group. After `shutdown` began it does not start, and the
    /// returned child is already finished.
    @discardableResult
    public func spawn(_ name: String, _ body: @escaping @Sendable () async -> Void) -> Child {
        let child = Child()
        running.withLock { $0[ObjectIdentifier(child)] = name }
        if case .terminated = jobs.yield(Job(name: name, child: child, body: body)) {
            _ = running.withLock { $0.removeValue(forKey: ObjectIdentifier(child)) }
            child.finish()
        }
        return child
    }

    /// The names of the children still running, for `/status` and tests.
    public var children: [String] { running.withLock { $0.values.sorted() } }

    /// Takes no new children, cancels those still running and waits for every one to return.
    public func shutdown() async {
        jobs.finish()
        root.cancel()
        await root.value
    }

    /// Runs a job's body beside a watcher that returns when the child is cancelled: whichever ends
    /// first ends the other, so `cancel()` reaches the body as task cancellation.
    private static func run(_ job: Job) async {
        await withTaskGroup(of: Void.self) { inner in
            inner.addTask {
                await job.body()
                job.child.bodyReturned()
            }
            inner.addTask { await job.child.cancelRequestedOrReturned() }
            _ = await inner.next()
            inner.cancelAll()
        }
    }

    /// One spawned task: cancel it, or wait for it.
    public final class Child: Sendable {
        private struct State {
            var stopSignal = false
            var finished = false
            var stopWaiter: CheckedContinuation<Void, Never>?
            var finishWaiters: [CheckedContinuation<Void, Never>] = []
        }
        private let state = Locked(State())

        init() {}

        /// Asks the task to stop: it sees cancellation. Returns at once; `value()` waits for it.
        public func cancel() { signalStop() }

        /// Waits until the task has returned.
        public func value() async {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Bool in
                    if state.finished { return true }
                    state.finishWaiters.append(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
        }

        public var isFinished: Bool { state.withLock { $0.finished } }

        fileprivate func bodyReturned() { signalStop() }

        private func signalStop() {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.stopSignal = true
                defer { state.stopWaiter = nil }
                return state.stopWaiter
            }
            waiter?.resume()
        }

        fileprivate func cancelRequestedOrReturned() async {
            // Also returns when the group is cancelled (shutdown), so the body is cancelled with it.
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let now = state.withLock { state -> Bool in
                        if state.stopSignal { return true }
                        state.stopWaiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                signalStop()
            }
        }

        fileprivate func finish() {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.finished = true
                defer { state.finishWaiters = [] }
                return state.finishWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}
