import Foundation
import Postgres

/// The atomic claim: one statement binds the oldest idle instance of a pool to an agent, skipping
/// rows other claimers hold, on the partial index over idle rows. Used by `POST /api/pool/claim`
/// (any replica) and by the reconciler for agents applied as YAML.
enum Claims {
    struct Claimed: Sendable { let instanceID: String; let url: String? }

    static func claim(_ c: PostgresConnection, pool: String, agent: String, owner: String, template: String,
                      cloneFrom: String?) async throws -> Claimed? {
        let rows = try await c.query("""
            UPDATE pool.instances SET state = 'claimed', agent = $2, owner_id = $3, template_id = $4, claimed_at = now(),
                parent_instance = (SELECT instance_id FROM pool.instances WHERE agent = $5), updated_at = now()
            WHERE instance_id = (SELECT instance_id FROM pool.instances WHERE pool = $1 AND state = 'idle'
                                 ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING instance_id, url
            """, [pool, agent, owner, template, cloneFrom])
        guard let row = rows.first else { return nil }
        return Claimed(instanceID: try row.decode("instance_id"), url: try row.decode("url"))
    }

    /// The pool agents claim from: `default`, else the first by name.
    static func defaultPool(_ c: PostgresConnection) async throws -> String? {
        try await c.query("SELECT name FROM pool.pools ORDER BY (name = 'default') DESC, name LIMIT 1").first?.decode("name")
    }
}
