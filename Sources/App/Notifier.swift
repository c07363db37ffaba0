import Postgres
import Sync

/// Sends `NOTIFY convos_reconcile` to wake the leader on another replica, coalesced: at most one
/// in flight, and any number of changes meanwhile fold into one more. A hint, so losing one is fine.
package actor Notifier {
    private let db: PostgresPool
    private var sending = false
    private var pending = false

    private let clock: any Clock

    package init(db: PostgresPool, clock: any Clock = SystemClock()) {
        self.db = db
        self.clock = clock
    }

    package nonisolated func poke() { Task { await self.request() } }

    private func request() async {
        guard !sending else { pending = true; return }
        sending = true
        repeat {
            pending = false
            _ = try? await db.query("SELECT pg_notify('convos_reconcile', '')")
            // Under a stream of writes (claims at hundreds a second), one NOTIFY per 20 ms wakes
            // the leader as well as one per write, and leaves Postgres its commits for the claims.
            if pending { try? await clock.sleep(for: .milliseconds(20)) }
        } while pending
        sending = false
    }
}
