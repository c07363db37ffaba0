import Foundation

/// A wake-up call for a loop (the reconciler's, the watches' reader): `fire` from anywhere, `wait` until fired or timed out.
public actor Wakeup {
    private let clock: any Clock
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var generation = 0

    public init(clock: any Clock = SystemClock()) { self.clock = clock }

    public func fire() {
        if let w = waiter { waiter = nil; w.resume() } else { pending = true }
    }

    public func wait(timeout: Duration) async {
        if pending { pending = false; return }
        generation += 1
        let mine = generation
        await withCheckedContinuation { continuation in
            waiter = continuation
            // Held strongly: the timer keeps the wake-up at most `timeout` longer. A weak capture
            // allocated a side table on every wait, which LeakSanitizer (the fuzz stage) cannot see
            // through and reported as a leak when a wait fell inside one input.
            Task { [clock] in
                try? await clock.sleep(for: timeout)
                await self.expire(mine)
            }
        }
    }

    private func expire(_ generation: Int) {
        guard generation == self.generation, let w = waiter else { return }
        waiter = nil
        w.resume()
    }
}
