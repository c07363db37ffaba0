import Foundation
import Services
import Sync

/// The repository's root, for tests that read its files (specs/, scripts/, the dashboard's tests).
package enum Repo {
    package static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// Failure tests (issue 6). CI runs them at this size; `scripts/chaos` runs the same tests at full
/// scale by setting `CONVOS_CHAOS=full`.
package enum Chaos {
    package static var full: Bool { ProcessInfo.processInfo.environment["CONVOS_CHAOS"] == "full" }
}

extension Array where Element: Sendable {
    package func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for e in self where !(try await predicate(e)) { return false }
        return true
    }
}

package actor Counter {
    package init() {}
    package private(set) var value = 0
    package func add() { value += 1 }
    /// Adds one and returns the new value.
    package func next() -> Int { value += 1; return value }
}

/// Holds every caller of `wait` until `open`.
package actor Gate {
    package init() {}
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    package func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    package func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters = []
    }
}

extension ServicesClient {
    /// A status batch as a tick takes it: what the batch saw change is recorded (the batch itself
    /// writes nothing), so the next one polls only what is still in transition. In process, the
    /// look at Railway the batch started (beside it, not in its way) is awaited and taken by a
    /// second batch, so the answer holds what Railway says now, as a test expects.
    package func observe(_ ids: [String]) async throws -> StatusBatch {
        var batch = try await statusBatch(ids)
        if let local = self as? InProcessServices {
            await local.lookFinished()
            batch = try await statusBatch(ids)
        }
        if let observed = batch.observed, !observed.isEmpty { try await recordObserved(observed) }
        return batch
    }
}
