import Foundation
import Postgres

/// The dashboard's sessions in `pool.ui_sessions`, so any replica honours them. Called by the API's
/// `Sessions`, which makes the ids and reads the cookies.
package struct SessionStore: Sendable {
    package let db: PostgresPool

    package init(db: PostgresPool) { self.db = db }

    /// Stores a new session, and drops the expired ones.
    package func insert(id: String, csrf: String, expires: Date) async throws {
        _ = try await db.query("DELETE FROM pool.ui_sessions WHERE expires_at < now()")
        _ = try await db.query("INSERT INTO pool.ui_sessions (id, csrf, expires_at) VALUES ($1, $2, $3)", [id, csrf, expires])
    }

    /// The live session's CSRF token and expiry; nil when unknown or expired.
    package func find(id: String) async throws -> (csrf: String, expires: Date)? {
        guard let row = try await db.query("SELECT csrf, expires_at FROM pool.ui_sessions WHERE id = $1 AND expires_at > now()", [id]).first
        else { return nil }
        return (try row.decode("csrf"), try row.decode("expires_at"))
    }

    package func delete(id: String) async throws {
        _ = try await db.query("DELETE FROM pool.ui_sessions WHERE id = $1", [id])
    }
}
