import Foundation
import Testing
@testable import Controller
import Resources

/// The work queue's outcomes: a deferral for a quota waits as long as told, and is no failure.
@Suite struct WorkQueueTests {
    @Test func deferredWaitsAsToldAndCountsNoFailure() async throws {
        let done = AsyncStream<Void>.makeStream()
        let queue = WorkQueue(run: { _ in .deferred(after: .seconds(120), reason: "railway: Retry-After 120") },
                              onDone: { _, _ in done.continuation.yield() })
        let action = Action.startInstance(instance: "abcdef123456", image: "ghcr.io/x/y@sha256:0")
        let before = Date()
        #expect(await queue.submit(action))
        var events = done.stream.makeAsyncIterator()
        await events.next()
        let state = try #require(await queue.keys[action.key])
        #expect(state.failures == 0, "waiting for a quota is not a failure")
        #expect(state.lastError == "railway: Retry-After 120")
        let next = try #require(state.nextAttempt)
        #expect(next.timeIntervalSince(before) >= 119.9 && next.timeIntervalSince(before) < 121)
        #expect(await queue.backingOff.isEmpty)
        #expect(await queue.submit(action, now: before.addingTimeInterval(60)) == false, "not before the provider said")
        #expect(await queue.submit(action, now: before.addingTimeInterval(121)), "and at once after")
    }

    @Test func refillsLeaveRoomForClaimedAgents() async throws {
        let release = Gate()
        let queue = WorkQueue(limit: 8, run: { _ in await release.wait(); return .converged })
        // Refills take six of eight places, and no more.
        for i in 0..<10 {
            let accepted = await queue.submit(.startInstance(instance: "instance\(i)", image: "ghcr.io/x/y@sha256:0"))
            #expect(accepted == (i < 6), "refill \(i)")
        }
        // A claimed agent's tools and conversation still start.
        #expect(await queue.submit(.provisionTool(agent: "alice", instance: "instance0", tool: .email)))
        #expect(await queue.submit(.configure(agent: "alice", instance: "instance0")))
        #expect(await queue.submit(.provisionTool(agent: "bob", instance: "instance1", tool: .email)) == false, "the queue is full")
        #expect(await queue.depth == 8)
        await release.open()
        await queue.drain(timeout: .seconds(10))
        #expect(await queue.depth == 0)
    }
}

extension WorkQueueTests {
    /// A pending number order is looked at again by the queue at its time, with no tick to plan it;
    /// a requeued start is not (the tick plans what follows a start).
    @Test func aRequeuedToolIsRunAgainByTheQueueAlone() async throws {
        let runs = AsyncStream<Action>.makeStream()
        let count = Counter()
        let queue = WorkQueue(run: { action in
            runs.continuation.yield(action)
            return await count.next() == 1 ? .requeue(after: .milliseconds(20)) : .converged
        })
        let tool = Action.provisionTool(agent: "alice", instance: "instance0", tool: .sms)
        #expect(await queue.submit(tool))
        var seen = runs.stream.makeAsyncIterator()
        #expect(await seen.next() == tool)
        #expect(await seen.next() == tool, "run again without a second submit")
        await queue.drain(timeout: .seconds(10))
        #expect(await queue.keys[tool.key] == nil, "converged")
        #expect(Action.startInstance(instance: "i", image: "x").followsItself == false)
        #expect(Action.bindAgent(agent: "a", pool: "p").followsItself == false)
    }
}

/// Holds every caller of `wait` until `open`.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters = []
    }
}
