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
}
