import Foundation
import Testing
import AppTestSupport
import Reconcile
import Resources
import Sync

/// The work queue on a manual clock: backoff, jitter bounds, coalescing, `Retry-After`, follow-ups
/// and drain, with time moved by hand. Nothing here sleeps.
@Suite struct WorkQueueTests {
    /// A queue whose actions end as `outcome` says, on a manual clock; `done` yields each ending.
    struct Harness {
        let clock = ManualClock()
        let done = AsyncStream<ReconcileOutcome>.makeStream()
        let queue: WorkQueue

        init(jitter: Double = 1, limit: Int = 32, outcome: @escaping @Sendable (Action) async -> ReconcileOutcome) {
            let continuation = done.continuation
            queue = WorkQueue(limit: limit, baseDelay: .milliseconds(200), maxDelay: .seconds(30), failedDelay: .seconds(600),
                              clock: clock, jitter: { jitter }, run: outcome, onDone: { _, outcome in continuation.yield(outcome) })
        }

        /// Runs `action` once and waits for it to end.
        func runOnce(_ action: Action, _ ended: inout AsyncStream<ReconcileOutcome>.Iterator) async throws -> ReconcileOutcome {
            try #require(await queue.submit(action), "accepted")
            return try #require(await ended.next())
        }

        /// Seconds from now to the key's next attempt.
        func wait(_ action: Action) async -> TimeInterval? {
            await queue.keys[action.key]?.nextAttempt.map { $0.timeIntervalSince(clock.now) }
        }

        /// Waits until `n` tasks sleep on the clock: the queue has started waiting, time may move.
        func sleeping(_ n: Int) async {
            while clock.sleepers < n { await Task.yield() }
        }
    }

    static let start = Action.startInstance(instance: "abcdef123456", image: "ghcr.io/x/y@sha256:0")

    struct BackoffCase: Sendable, CustomTestStringConvertible {
        let failures: Int
        let jitter: Double
        let wait: TimeInterval
        var testDescription: String { "\(failures) failure(s), jitter \(jitter) → \(wait) s" }
    }

    /// Exponential from 200 ms (doubling per failure), capped at 30 s, times a jitter held in 0.5...1.
    @Test(arguments: [
        BackoffCase(failures: 1, jitter: 1, wait: 0.4), BackoffCase(failures: 2, jitter: 1, wait: 0.8),
        BackoffCase(failures: 3, jitter: 1, wait: 1.6), BackoffCase(failures: 5, jitter: 1, wait: 6.4),
        BackoffCase(failures: 7, jitter: 1, wait: 25.6), BackoffCase(failures: 8, jitter: 1, wait: 30),
        BackoffCase(failures: 12, jitter: 1, wait: 30), BackoffCase(failures: 3, jitter: 0.5, wait: 0.8),
        BackoffCase(failures: 3, jitter: 0.75, wait: 1.2),
        // A jitter source out of bounds is held in them: never sooner than half, never past the cap.
        BackoffCase(failures: 3, jitter: 0.1, wait: 0.8), BackoffCase(failures: 8, jitter: 3, wait: 30),
    ])
    func backoffGrowsWithEachFailureUpToTheCap(_ c: BackoffCase) async throws {
        let h = Harness(jitter: c.jitter) { _ in .retry("railway: 503") }
        var ended = h.done.stream.makeAsyncIterator()
        for attempt in 1...c.failures {
            #expect(try await h.runOnce(Self.start, &ended) == .retry("railway: 503"))
            if attempt < c.failures { h.clock.advance(by: .seconds(31)) }
        }
        let wait = try #require(await h.wait(Self.start))
        #expect(abs(wait - c.wait) < 0.001, "waits \(wait) s")
        let state = try #require(await h.queue.keys[Self.start.key])
        #expect(state.failures == c.failures && state.lastError == "railway: 503")
        #expect(await h.queue.backingOff.count == 1)
    }

    /// Before its time a failing key is refused; at its time it runs; converging forgets it.
    @Test func aFailingKeyWaitsItsTurnAndConvergingResetsIt() async throws {
        let count = Counter()
        let h = Harness { _ in await count.next() < 3 ? .retry("boom") : .converged }
        var ended = h.done.stream.makeAsyncIterator()
        _ = try await h.runOnce(Self.start, &ended)
        #expect(await h.queue.submit(Self.start) == false, "backing off")
        h.clock.advance(by: .milliseconds(399))
        #expect(await h.queue.submit(Self.start) == false, "1 ms early")
        h.clock.advance(by: .milliseconds(1))
        #expect(try await h.runOnce(Self.start, &ended) == .retry("boom"))
        h.clock.advance(by: .seconds(1))
        #expect(try await h.runOnce(Self.start, &ended) == .converged)
        #expect(await h.queue.keys[Self.start.key] == nil)
    }

    /// A plan read before its key converged is stale for it: not run again. One read after the
    /// convergence runs it; a submit that names no plan is not held back.
    @Test func aPlanReadBeforeItsKeyConvergedDoesNotRunItAgain() async throws {
        let h = Harness { _ in .converged }
        var ended = h.done.stream.makeAsyncIterator()
        let readBefore = h.clock.now
        h.clock.advance(by: .milliseconds(10))
        #expect(try await h.runOnce(Self.start, &ended) == .converged)
        #expect(await h.queue.submit(Self.start, plannedAt: readBefore) == false, "planned from a read older than the convergence")
        h.clock.advance(by: .milliseconds(10))
        let readAfter = h.clock.now
        #expect(try await h.queue.submit(Self.start, plannedAt: readAfter), "a read after it")
        #expect(try await ended.next() == .converged)
        await h.queue.forgetConverged(before: h.clock.now)
        #expect(try await h.queue.submit(Self.start, plannedAt: readBefore), "forgotten once every read is newer")
        #expect(try await ended.next() == .converged)
    }

    /// A failure no retry fixes waits the long delay, jittered like the rest.
    @Test func aTerminalFailureWaitsTheFailedDelay() async throws {
        let h = Harness(jitter: 0.5) { _ in .failed("agentmail: limit exceeded") }
        var ended = h.done.stream.makeAsyncIterator()
        _ = try await h.runOnce(Self.start, &ended)
        #expect(abs((await h.wait(Self.start) ?? 0) - 300) < 0.001)
    }

    /// A deferral for a quota waits as long as the provider said, and counts no failure.
    @Test func deferredWaitsAsToldAndCountsNoFailure() async throws {
        let h = Harness { _ in .deferred(after: .seconds(120), reason: "railway: Retry-After 120") }
        var ended = h.done.stream.makeAsyncIterator()
        _ = try await h.runOnce(Self.start, &ended)
        let state = try #require(await h.queue.keys[Self.start.key])
        #expect(state.failures == 0, "waiting for a quota is not a failure")
        #expect(state.lastError == "railway: Retry-After 120")
        #expect(await h.wait(Self.start) == 120)
        #expect(await h.queue.backingOff.isEmpty)
        h.clock.advance(by: .seconds(60))
        #expect(await h.queue.submit(Self.start) == false, "not before the provider said")
        h.clock.advance(by: .seconds(60))
        #expect(await h.queue.submit(Self.start), "and at once after")
    }

    /// A key already running coalesces: the second submit is refused, other keys run beside it.
    @Test func aRunningKeyCoalesces() async throws {
        let gate = Gate()
        let h = Harness { _ in await gate.wait(); return .converged }
        #expect(await h.queue.submit(Self.start))
        #expect(await h.queue.submit(Self.start) == false, "the same key, while it runs")
        #expect(await h.queue.submit(.startInstance(instance: "other0000000", image: "x")), "another key")
        #expect(await h.queue.depth == 2)
        await gate.open()
        var ended = h.done.stream.makeAsyncIterator()
        _ = await ended.next()
        _ = await ended.next()
        #expect(await h.queue.depth == 0)
        #expect(await h.queue.submit(Self.start), "free again")
    }

    @Test func refillsLeaveRoomForClaimedAgents() async throws {
        let gate = Gate()
        let h = Harness(limit: 8) { _ in await gate.wait(); return .converged }
        // Refills take six of eight places, and no more.
        for i in 0..<10 {
            let accepted = await h.queue.submit(.startInstance(instance: "instance\(i)", image: "ghcr.io/x/y@sha256:0"))
            #expect(accepted == (i < 6), "refill \(i)")
        }
        // A claimed agent's tools and conversation still start.
        #expect(await h.queue.submit(.provisionTool(agent: "alice", instance: "instance0", tool: .email)))
        #expect(await h.queue.submit(.configure(agent: "alice", instance: "instance0")))
        #expect(await h.queue.submit(.provisionTool(agent: "bob", instance: "instance1", tool: .email)) == false, "the queue is full")
        #expect(await h.queue.depth == 8)
        await gate.open()
        var ended = h.done.stream.makeAsyncIterator()
        for _ in 0..<8 { _ = await ended.next() }
        #expect(await h.queue.depth == 0)
    }

    /// A pending number order is looked at again by the queue at its time, with no tick to plan it;
    /// a requeued start is not (the tick plans what follows a start).
    @Test func aRequeuedToolIsRunAgainByTheQueueAlone() async throws {
        let count = Counter()
        let h = Harness { _ in await count.next() == 1 ? .requeue(after: .milliseconds(250)) : .converged }
        var ended = h.done.stream.makeAsyncIterator()
        let tool = Action.provisionTool(agent: "alice", instance: "instance0", tool: .sms)
        #expect(try await h.runOnce(tool, &ended) == .requeue(after: .milliseconds(250)))
        await h.sleeping(1)
        h.clock.advance(by: .milliseconds(250))
        #expect(await ended.next() == .converged, "run again without a second submit")
        #expect(await h.queue.keys[tool.key] == nil)

        let start = Harness { _ in .requeue(after: .milliseconds(250)) }
        var startEnded = start.done.stream.makeAsyncIterator()
        _ = try await start.runOnce(Self.start, &startEnded)
        #expect(start.clock.sleepers == 0, "nothing follows a start by itself")
        #expect(Action.bindAgent(agent: "a", pool: "p").followsItself == false)
    }

    /// Drain returns when the running actions end, or at its timeout if they do not.
    @Test func drainWaitsForRunningActionsUpToItsTimeout() async throws {
        let gate = Gate()
        let h = Harness { _ in await gate.wait(); return .converged }
        #expect(await h.queue.submit(Self.start))
        let drained = Task { await h.queue.drain(timeout: .seconds(10)) }
        await h.sleeping(1)
        h.clock.advance(by: .seconds(10))
        await drained.value
        #expect(await h.queue.depth == 1, "timed out with the action still running")
        await gate.open()
        var ended = h.done.stream.makeAsyncIterator()
        _ = await ended.next()
        await h.queue.drain(timeout: .seconds(10))
        #expect(await h.queue.depth == 0)
        await h.queue.abandon()
        #expect(await h.queue.submit(Self.start) == false, "abandoned: nothing new starts")
    }
}

