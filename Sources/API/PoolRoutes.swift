import Foundation
import HTTPServer
import Postgres
import Resources

/// The seed's pool views, which its dashboard consumes: `GET /api/pool/counts` (public) and
/// `GET /api/pool/agents`, both of the pool claims come from (`default`, else the first by name).
extension ControllerAPI {
    /// The seed's names for instance states.
    package static let seedStates: [(InstanceState, String)] = [(.idle, "idle"), (.provisioning, "starting"), (.claimed, "claimed"), (.failed, "crashed")]

    package static let claimPoolSQL = "(SELECT name FROM pool.pools ORDER BY (name = 'default') DESC, name LIMIT 1)"

    package struct PoolAgent: Encodable {
        package let id: String
        package let agent: String?
        package let agentName: String?
        package let inviteUrl: String?
        package let conversationId: String?
        package let url: String?
        package let createdAt: String
        package let claimedAt: String?

        package enum Keys: String, CodingKey { case id, agent, agentName, inviteUrl, conversationId, url, createdAt, claimedAt }

        /// Every field present, null when unknown, as the seed's dashboard reads them.
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(id, forKey: .id)
            try c.encode(agent, forKey: .agent)
            try c.encode(agentName, forKey: .agentName)
            try c.encode(inviteUrl, forKey: .inviteUrl)
            try c.encode(conversationId, forKey: .conversationId)
            try c.encode(url, forKey: .url)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(claimedAt, forKey: .claimedAt)
        }
    }

    package func addPoolRoutes(_ router: inout Router) {
        let db = store.db
        router.add("GET", "/api/pool/counts") { _ in
            let rows = try await db.query("SELECT state, count(*)::int AS n FROM pool.instances WHERE pool = \(Self.claimPoolSQL) GROUP BY state")
            var counts = Dictionary(uniqueKeysWithValues: Self.seedStates.map { ($0.1, 0) })
            for row in rows.rows {
                let state: InstanceState = try row.decode("state")
                if let name = Self.seedStates.first(where: { $0.0 == state })?.1 { counts[name] = try row.decode("n") }
            }
            return .json(counts)
        }
        router.add("GET", "/api/pool/agents") { _ in
            let rows = try await db.query("""
                SELECT instance_id, state, agent, agent_name, invite_url, conversation_id, url, created_at, claimed_at
                FROM pool.instances WHERE pool = \(Self.claimPoolSQL) ORDER BY created_at, instance_id
                """)
            var groups = Dictionary(uniqueKeysWithValues: Self.seedStates.map { ($0.1, [PoolAgent]()) })
            for row in rows.rows {
                let state: InstanceState = try row.decode("state")
                guard let name = Self.seedStates.first(where: { $0.0 == state })?.1 else { continue }
                groups[name, default: []].append(PoolAgent(
                    id: try row.decode("instance_id"), agent: try row.decode("agent"), agentName: try row.decode("agent_name"),
                    inviteUrl: try row.decode("invite_url"), conversationId: try row.decode("conversation_id"), url: try row.decode("url"),
                    createdAt: ISO8601.format(try row.decode("created_at")), claimedAt: try row.decode("claimed_at", as: Date?.self).map(ISO8601.format)))
            }
            return .json(groups)
        }
    }
}
