import Foundation
import Postgres
import Resources

/// Desired state in Postgres: apply, read and delete Pools, AgentTemplates and Agents.
///
/// Called by the HTTP API. Every write runs in one transaction at READ COMMITTED with row locks,
/// so a batch is all or nothing and concurrent applies of one object serialize on its row.
public struct ResourceStore: Sendable {
    public let db: PostgresPool

    public init(db: PostgresPool) { self.db = db }

    public func list(_ kind: ResourceKind) async throws -> [StoredObject] {
        let rows = try await db.query(
            "SELECT \(StoredObject.columns(kind)) FROM \(StoredObject.table(kind)) ORDER BY name")
        return try rows.rows.map { try StoredObject(kind: kind, row: $0) }
    }

    public func get(_ kind: ResourceKind, _ name: String) async throws -> StoredObject {
        let rows = try await db.query(
            "SELECT \(StoredObject.columns(kind)) FROM \(StoredObject.table(kind)) WHERE name = $1", [name])
        guard let row = rows.first else { throw StoreError.notFound(kind: kind, name: name) }
        return try StoredObject(kind: kind, row: row)
    }

    /// Deletes a pool or template, or marks an agent `Terminating` for the reconciler to tear down.
    /// Returns the object as it stands after the call (nil when it is gone).
    public func delete(_ kind: ResourceKind, _ name: String) async throws -> StoredObject? {
        try await db.transaction { c in
            switch kind {
            case .agent:
                let rows = try await c.query("""
                    UPDATE pool.agents SET deletion_requested_at = coalesce(deletion_requested_at, now()),
                        resource_version = CASE WHEN deletion_requested_at IS NULL
                            THEN nextval('pool.resource_version_seq') ELSE resource_version END,
                        updated_at = now()
                    WHERE name = $1
                    RETURNING \(StoredObject.columns(.agent))
                    """, [name])
                guard let row = rows.first else { throw StoreError.notFound(kind: kind, name: name) }
                try await Events.record(c, kind: kind, name: name, reason: "DeletionRequested", message: "teardown requested")
                return try StoredObject(kind: .agent, row: row)
            case .agentTemplate:
                let users = try await c.query("SELECT count(*) AS n FROM pool.agents WHERE template = $1", [name])
                let count = try users.first!.decode("n", as: Int.self)
                guard count == 0 else {
                    throw StoreError.conflict("agenttemplate/\(name) is used by \(count) agent(s); delete them first", [])
                }
                return try await deleteRow(c, kind, name)
            case .coupon:
                return try await deleteRow(c, kind, name)
            case .pool:
                let instances = try await c.query("SELECT count(*) AS n FROM pool.instances WHERE pool = $1", [name])
                let count = try instances.first!.decode("n", as: Int.self)
                guard count == 0 else {
                    throw StoreError.conflict("pool/\(name) still has \(count) instance(s); set spec.minIdle to 0 and wait for them to go", [])
                }
                return try await deleteRow(c, kind, name)
            }
        }
    }

    private func deleteRow(_ c: PostgresConnection, _ kind: ResourceKind, _ name: String) async throws -> StoredObject? {
        let rows = try await c.query("DELETE FROM \(StoredObject.table(kind)) WHERE name = $1 RETURNING name", [name])
        guard !rows.isEmpty else { throw StoreError.notFound(kind: kind, name: name) }
        try await Events.record(c, kind: kind, name: name, reason: "Deleted", message: "")
        return nil
    }
}

/// Writes event rows: time, object, reason, message. Called inside the transaction that made the change.
package enum Events {
    package static func record(_ c: PostgresConnection, kind: ResourceKind, name: String, type: String = "Normal",
                       reason: String, message: String) async throws {
        try await record(c, kind: kind.rawValue, name: name, type: type, reason: reason, message: message)
    }

    package static func record(_ c: PostgresConnection, kind: String, name: String, type: String = "Normal",
                       reason: String, message: String) async throws {
        _ = try await c.query(
            "INSERT INTO pool.events (kind, name, type, reason, message) VALUES ($1, $2, $3, $4, $5)",
            [kind, name, type, reason, message])
    }
}
