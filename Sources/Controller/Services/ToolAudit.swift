import Foundation

/// Runs the audit of tools at their providers (`InProcessServices.auditTools`) in the background,
/// at most one at a time: its listings take a page per 100 resources, and the tick that started it
/// must not wait for them. Owned by `InProcessServices`, which awaits it at shutdown.
actor ToolAudit {
    private var running: Task<Void, Never>?
    /// Audits finished, for tests and `/status`.
    private(set) var completed = 0

    /// Starts `body` unless an audit is still running (the next resync starts another).
    func start(_ body: @escaping @Sendable () async -> Void) {
        guard running == nil else { return }
        running = Task {
            await body()
            self.finish()
        }
    }

    private func finish() {
        running = nil
        completed += 1
    }

    func shutdown() async {
        running?.cancel()
        await running?.value
    }
}
