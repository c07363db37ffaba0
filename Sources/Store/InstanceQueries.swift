import Foundation
import Postgres
import Resources

/// Reads of `pool.instances` for the API. The reconciler owns the writes.
package struct InstanceQueries: Sendable {
    package let db: PostgresPool

    package static let columns = """
        i.instance_id, state, pool, image_digest, url, agent, parent_instance, h.health, conversation_id, invite_url,
        created_at, claimed_at, template_synced_at, h.runtime_version, h.runtime_type, acceptance
        """

    package static let from = "pool.instances i LEFT JOIN pool.instance_health h USING (instance_id)"

    package func list() async throws -> [Instance] {
        try await db.query("SELECT \(Self.columns) FROM \(Self.from) ORDER BY created_at, i.instance_id").rows.map(Self.instance)
    }

    package func get(_ id: String) async throws -> Instance? {
        try await db.query("SELECT \(Self.columns) FROM \(Self.from) WHERE i.instance_id = $1", [id]).first.map(Self.instance)
    }

    package static func instance(_ row: PostgresRows.Row) throws -> Instance {
        guard let state = InstanceState(rawValue: try row.decode("state")) else {
            throw PostgresError.decoding(column: "state", message: "unknown state")
        }
        return Instance(
            id: try row.decode("instance_id"), state: state, pool: try row.decode("pool"),
            imageDigest: try row.decode("image_digest"), url: try row.decode("url"), agent: try row.decode("agent"),
            parentInstance: try row.decode("parent_instance"),
            health: try row.decode("health", as: String?.self).flatMap(InstanceHealth.init(rawValue:)),
            conversationId: try row.decode("conversation_id"), inviteUrl: try row.decode("invite_url"), createdAt: try row.decode("created_at"),
            claimedAt: try row.decode("claimed_at"), templateSyncedAt: try row.decode("template_synced_at"),
            runtimeType: try row.decode("runtime_type"), runtimeVersion: try row.decode("runtime_version"),
            acceptance: try row.decode("acceptance", as: String?.self).flatMap(RuntimeAcceptance.init(rawValue:)))
    }

    package init(db: PostgresPool) {
        self.db = db
    }
}
