import Foundation
import Postgres

/// One row of `pool.events`, as the event routes (`/v1/events`, the Kubernetes events) show it.
package struct StoredEvent: Sendable {
    package let id: Int
    package let at: Date
    package let kind: String
    package let name: String
    package let type: String
    package let reason: String
    package let message: String
}

extension Events {
    /// The newest `limit` events, of one kind and name when given, newest first. The
    /// (kind, name, at) index serves an object's events.
    package static func recent(_ db: PostgresPool, kind: String?, name: String?, limit: Int) async throws -> [StoredEvent] {
        try await db.query("""
            SELECT id, at, kind, name, type, reason, message FROM pool.events
            WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR name = $2)
            ORDER BY at DESC, id DESC LIMIT $3
            """, [kind, name, limit]).rows.map { row in
            StoredEvent(id: try row.decode("id"), at: try row.decode("at"), kind: try row.decode("kind"), name: try row.decode("name"),
                        type: try row.decode("type"), reason: try row.decode("reason"), message: try row.decode("message"))
        }
    }
}
