import Foundation
import HTTPServer
import Postgres
import Resources
import Store

/// The seed's pool views, which its dashboard consumes: `GET /api/pool/counts` (public) and
/// `GET /api/pool/agents`, both of the pool claims come from (`default`, else the first by name).
extension ControllerAPI {
    /// The seed's names for instance states.
    package static let seedStates: [(InstanceState, String)] = [(.idle, "idle"), (.provisioning, "starting"), (.claimed, "claimed"), (.failed, "crashed")]

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
            let stored = try await PoolViews.counts(db)
            return .json(Dictionary(uniqueKeysWithValues: Self.seedStates.map { ($0.1, stored[$0.0] ?? 0) }))
        }
        router.add("GET", "/api/pool/agents") { _ in
            var groups = Dictionary(uniqueKeysWithValues: Self.seedStates.map { ($0.1, [PoolAgent]()) })
            for i in try await PoolViews.instances(db) {
                guard let name = Self.seedStates.first(where: { $0.0 == i.state })?.1 else { continue }
                groups[name, default: []].append(PoolAgent(
                    id: i.id, agent: i.agent, agentName: i.agentName, inviteUrl: i.inviteUrl, conversationId: i.conversationId, url: i.url,
                    createdAt: ISO8601.format(i.createdAt), claimedAt: i.claimedAt.map(ISO8601.format)))
            }
            return .json(groups)
        }
    }
}
