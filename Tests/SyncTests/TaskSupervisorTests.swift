import Foundation
import Testing
import Sync

/// The supervisor that owns the long-lived tasks: children run, stop when cancelled one by one, and
/// none outlives `shutdown`. Bodies wait on streams the test feeds, or until cancelled; none sleeps.
@Suite struct TaskSupervisorTests {
    @Test func aChildRunsAndItsValueWaitsForIt() async {
        let supervisor = TaskSupervisor()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let ran = Locked(false)
        let child = supervisor.spawn("worker") {
            for await _ in gate { break }
            ran.withLock { $0 = true }
        }
        #expect(supervisor.children == ["worker"])
        #expect(!child.isFinished)
        open.yield()
        await child.value()
        #expect(ran.withLock { $0 })
        #expect(child.isFinished)
        #expect(supervisor.children.isEmpty)
        await supervisor.shutdown()
    }

    @Test func cancelReachesOneChildAsCancellationAndLeavesTheOthers() async {
        let supervisor = TaskSupervisor()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let sawCancel = Locked(false)
        let first = supervisor.spawn("first") {
            // Waits until cancelled: an AsyncStream's iteration ends on cancellation.
            let (never, _) = AsyncStream.makeStream(of: Void.self)
            for await _ in never {}
            sawCancel.withLock { $0 = Task.isCancelled }
        }
        let second = supervisor.spawn("second") { for await _ in gate { break } }
        first.cancel()
        await first.value()
        #expect(sawCancel.withLock { $0 })
        #expect(!second.isFinished)
        #expect(supervisor.children == ["second"])
        open.yield()
        await second.value()
        await supervisor.shutdown()
    }

    @Test func shutdownCancelsWhatIsLeftWaitsForItAndStartsNothingAfter() async {
        let supervisor = TaskSupervisor()
        let returned = Locked(0)
        for name in ["a", "b", "c"] {
            supervisor.spawn(name) {
                let (never, _) = AsyncStream.makeStream(of: Void.self)
                for await _ in never {}
                returned.withLock { $0 += 1 }
            }
        }
        #expect(supervisor.children == ["a", "b", "c"])
        await supervisor.shutdown()
        #expect(returned.withLock { $0 } == 3)
        #expect(supervisor.children.isEmpty)

        let ranLate = Locked(false)
        let late = supervisor.spawn("late") { ranLate.withLock { $0 = true } }
        #expect(late.isFinished)
        #expect(!ranLate.withLock { $0 })
        #expect(supervisor.children.isEmpty)
    }
}
