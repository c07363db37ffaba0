import Foundation
import Sync

/// Runs the audit of tools at their providers (`InProcessServices.runAudit`) in the background,
/// at most one at a time: its listings take a page per 100 resources, and the tick that started it
/// must not wait for them. Each audit is a child of the `TaskSupervisor` it is given (the
/// controller's); `shutdown` cancels the one running and waits for it.
package actor ToolAudit {
    private let supervisor: TaskSupervisor
    private var running: TaskSupervisor.Child?
    /// Audits finished, for tests and `/status`.
    package private(set) var completed = 0

    package init(supervisor: TaskSupervisor) { self.supervisor = supervisor }

    /// Starts `body` unless an audit is still running (the next resync starts another).
    /// The audit writes under the fence of the tick that started it (`Fencing.current` there): a
    /// child of the supervisor does not inherit its starter's task-local values, so it is carried.
    package func start(_ body: @escaping @Sendable () async -> Void) {
        guard running == nil else { return }
        let fence = Fencing.current
        running = supervisor.spawn("tool-audit") {
            await Fencing.$current.withValue(fence) { await body() }
            await self.finish()
        }
    }

    private func finish() {
        running = nil
        completed += 1
    }

    package func shutdown() async {
        guard let running else { return }
        running.cancel()
        await running.value()
    }
}
