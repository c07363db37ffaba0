import Foundation
import Postgres
import Resources

/// Reads of the Kubernetes API, from the change log: each object as its latest change holds it,
/// at that change's resourceVersion, and a list's version in the same snapshot. Writes go through
/// `ResourceStore` (one set of rules), whose transactions feed the log by trigger.
package struct KubeStore: Sendable {
    package let db: PostgresPool

    package struct Listed: Sendable {
        package var objects: [JSONValue]
        /// The list's resourceVersion: every change up to it is in `objects`.
        package var resourceVersion: Int
    }

    package func list(_ kind: ResourceKind) async throws -> Listed {
        try await db.transaction { c in
            _ = try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let rows = try await c.query("""
                SELECT rv, object FROM (
                    SELECT DISTINCT ON (name) rv, type, object FROM pool.changes WHERE kind = $1 ORDER BY name, rv DESC
                ) latest WHERE type <> 'DELETED' ORDER BY object->>'name'
                """, [kind.rawValue])
            return Listed(objects: try rows.rows.map { try Self.object(kind, $0) }, resourceVersion: try await Self.settledMark(c))
        }
    }

    /// The object, or nil when it does not exist.
    package func get(_ kind: ResourceKind, _ name: String) async throws -> JSONValue? {
        let rows = try await db.query("""
            SELECT rv, type, object FROM pool.changes WHERE kind = $1 AND name = $2 ORDER BY rv DESC LIMIT 1
            """, [kind.rawValue, name])
        guard let row = rows.first, try row.decode("type", as: String.self) != "DELETED" else { return nil }
        return try Self.object(kind, row)
    }

    /// The newest version compaction removed: a watch from before it has lost changes (410 Gone).
    package func compactionMark() async throws -> Int {
        try await db.query("SELECT rv FROM pool.change_compaction").first?.decode("rv", as: Int.self) ?? 0
    }

    /// One committed change, as a watch sends it.
    package struct Change: Sendable {
        package let rv: Int
        package let kind: ResourceKind?
        package let type: String
        /// Seconds since the change's commit wrote it (`KubeChangeOrder` waits at a young gap).
        package let age: Double
        package let row: PostgresRows.Row
        /// The object at this change; nil for a kind this binary does not know.
        package func object() throws -> JSONValue? { try kind.map { try KubeStore.object($0, row) } }
    }

    /// Up to `limit` changes after version `after`, in version order.
    package func changes(after: Int, limit: Int) async throws -> [Change] {
        try await db.query("""
            SELECT rv, kind, type, object, extract(epoch FROM clock_timestamp() - at)::float8 AS age
            FROM pool.changes WHERE rv > $1 ORDER BY rv LIMIT $2
            """, [after, limit]).rows.map { row in
            Change(rv: try row.decode("rv"), kind: ResourceKind(rawValue: try row.decode("kind")), type: try row.decode("type"),
                   age: try row.decode("age"), row: row)
        }
    }

    /// How old the change after a missing version must be before the gap is given up.
    package static let settle: Double = 5

    /// The list's version: the settled mark (`KubeChangeOrder`) in this snapshot.
    package func currentVersion() async throws -> Int {
        try await db.transaction { c in try await Self.settledMark(c) }
    }

    /// Changes of the last `2 * settle` seconds are read; anything older is settled.
    package static func settledMark(_ c: PostgresConnection) async throws -> Int {
        let base = try await c.query("""
            SELECT coalesce(max(rv), 0)::bigint AS rv FROM pool.changes WHERE at < clock_timestamp() - make_interval(secs => $1)
            """, [settle * 2]).first!.decode("rv", as: Int.self)
        let recent = try await c.query("""
            SELECT rv, extract(epoch FROM clock_timestamp() - at)::float8 AS age FROM pool.changes WHERE rv > $1 ORDER BY rv
            """, [base])
        let rows = try recent.rows.map { KubeChangeOrder.Row(rv: try $0.decode("rv"), age: try $0.decode("age")) }
        return KubeChangeOrder.settledMark(base: base, rows, settle: settle)
    }

    package static func object(_ kind: ResourceKind, _ row: PostgresRows.Row) throws -> JSONValue {
        let rv: Int = try row.decode("rv")
        let text: JSONText = try row.decode("object")
        return KubeObject.make(kind: kind, rv: rv, row: try JSONDecoder().decode(JSONValue.self, from: text.data))
    }

    package init(db: PostgresPool) {
        self.db = db
    }
}
