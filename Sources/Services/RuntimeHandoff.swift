/// Serializes what reaches one runtime, and hands variables to it.
///
/// - `exclusive` runs one conversation-changing call at a time per instance: a restart never cuts
///   into a `/pool/provision`, and two restarts never overlap.
/// - `kick` starts a hand-over of the instance's pending variables (`/pool/restart-gateway`), or,
///   when one is running, asks it to go round once more: tools that finish together share one
///   restart. The tasks are owned here and awaited by `shutdown`.
///
/// Used by `InProcessServices`; the pending variables themselves live in `services.runtime_env`,
/// so a hand-over cut short by a crash is found again (the status batch kicks it).
package actor RuntimeHandoff {
    private var busy: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var deliveries: [String: Task<Void, Never>] = [:]
    private var again: Set<String> = []
    private var stopping = false

    /// Runs `body` while no other exclusive call for `instance` runs; callers go in arrival order.
    package func exclusive<T: Sendable>(_ instance: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(instance)
        do {
            let value = try await body()
            release(instance)
            return value
        } catch {
            release(instance)
            throw error
        }
    }

    private func acquire(_ instance: String) async {
        guard busy.contains(instance) else { busy.insert(instance); return }
        await withCheckedContinuation { waiters[instance, default: []].append($0) }
    }

    /// Hands the instance to the next waiter, who now holds it, or frees it.
    private func release(_ instance: String) {
        if var queue = waiters[instance], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[instance] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            busy.remove(instance)
        }
    }

    /// Starts `deliver` for the instance, or, if one is running, runs it once more after it.
    package func kick(_ instance: String, deliver: @escaping @Sendable () async -> Void) {
        guard !stopping else { return }
        guard deliveries[instance] == nil else { again.insert(instance); return }
        deliveries[instance] = Task {
            repeat { await deliver() } while await self.goAgain(instance)
        }
    }

    /// True when another round was asked for meanwhile; otherwise the delivery ends here.
    private func goAgain(_ instance: String) -> Bool {
        if again.remove(instance) != nil, !stopping { return true }
        deliveries[instance] = nil
        return false
    }

    /// True while a hand-over for the instance is running.
    package func delivering(_ instance: String) -> Bool { deliveries[instance] != nil }

    /// No new hand-over starts; those running finish.
    package func shutdown() async {
        stopping = true
        for task in deliveries.values { await task.value }
    }
}
