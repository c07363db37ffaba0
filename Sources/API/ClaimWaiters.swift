import Foundation
import Reconcile
import Sync

/// Claims waiting for their agent's invite. The reconciler that configures an agent signals it here
/// (in process), and `NOTIFY convos_configured` signals it from another replica; either way the
/// waiter reads the database again. A signal is a hint: every waiter also looks again each second,
/// so a lost one costs at most that.
package actor ClaimWaiters: ConversationListener {
    /// Per agent being waited for: how many waits, and a count of signals, so a signal that lands
    /// between a look and the sleep after it is not missed.
    private var watched: [String: (waits: Int, signals: Int)] = [:]
    private var sleepers: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
    private var next = 0
    /// Deadlines are on its monotonic time; waits sleep on it.
    package nonisolated let clock: any Clock

    package init(clock: any Clock = SystemClock()) { self.clock = clock }

    /// Wakes every claim waiting for `agent`.
    package nonisolated func signal(_ agent: String) { Task { await self.wake(agent) } }

    /// The reconciler recorded `agent`'s conversation: its claims answer now.
    package nonisolated func configured(agent: String) { signal(agent) }

    private func wake(_ agent: String) {
        guard watched[agent] != nil else { return }
        watched[agent]!.signals += 1
        for continuation in sleepers.removeValue(forKey: agent)?.values ?? [:].values { continuation.resume() }
    }

    /// Calls `check` until it answers, woken by a signal or once a second, until `deadline` (on the
    /// clock's monotonic time).
    package func wait<T: Sendable>(for agent: String, until deadline: Duration,
                           _ check: @Sendable () async throws -> T?) async throws -> T? {
        watched[agent, default: (0, 0)].waits += 1
        defer {
            watched[agent]!.waits -= 1
            if watched[agent]!.waits == 0 { watched[agent] = nil }
        }
        while true {
            let seen = watched[agent]!.signals
            if let value = try await check() { return value }
            let now = clock.monotonic
            guard now < deadline else { return nil }
            if watched[agent]!.signals == seen { await sleep(agent, for: min(.seconds(1), deadline - now)) }
        }
    }

    private func sleep(_ agent: String, for timeout: Duration) async {
        next += 1
        let id = next
        await withCheckedContinuation { continuation in
            sleepers[agent, default: [:]][id] = continuation
            Task { [clock] in
                try? await clock.sleep(for: timeout)
                self.expire(agent, id)
            }
        }
    }

    private func expire(_ agent: String, _ id: Int) {
        guard let continuation = sleepers[agent]?.removeValue(forKey: id) else { return }
        if sleepers[agent]?.isEmpty == true { sleepers[agent] = nil }
        continuation.resume()
    }
}
