import API
import Postgres
import Reconcile
import Sync

/// Tells claims waiting for an agent's invite that it is configured: this replica's waiters at
/// once, and other replicas' through `NOTIFY convos_configured`, several agents to a notification
/// (names separated by spaces), one in flight at a time. The reconciler calls it after the
/// configure's transaction commits.
///
/// Not inside that transaction: Postgres serialises every committing transaction that notified
/// (a lock on the notification queue held through the commit's WAL flush), so one NOTIFY per
/// configure put every configure in a queue behind the others' fsyncs: under a claim load, 15 to
/// 21 of the controller's connections waited on that lock at any moment.
package actor ConfiguredBroadcast: ConversationListener {
    private let db: PostgresPool
    private let local: ClaimWaiters
    private var pending: [String] = []
    private var sending = false
    /// A notification's payload is limited to 8,000 bytes: agent names are far shorter than this
    /// share of it.
    private static let perNotification = 200

    package init(db: PostgresPool, local: ClaimWaiters) {
        self.db = db
        self.local = local
    }

    package nonisolated func configured(agent: String) {
        local.signal(agent)
        Task { await self.enqueue(agent) }
    }

    private func enqueue(_ agent: String) async {
        pending.append(agent)
        guard !sending else { return }
        sending = true
        while !pending.isEmpty {
            let batch = pending.prefix(Self.perNotification)
            pending.removeFirst(batch.count)
            // A hint: a lost one costs a waiting claim at most its one-second look.
            _ = try? await db.query("SELECT pg_notify('convos_configured', $1)", [batch.joined(separator: " ")])
        }
        sending = false
    }

    /// The agents one `convos_configured` payload names.
    package static func agents(in payload: String) -> [String] {
        payload.split(separator: " ").map(String.init)
    }
}
