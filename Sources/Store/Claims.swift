import Foundation
import Postgres
import Resources

/// The atomic claim: one statement binds the oldest idle instance of a pool to an agent, skipping
/// rows other claimers hold, on the partial index over idle rows. Used by `POST /api/pool/claim`
/// (any replica) and by the reconciler for agents applied as YAML.
package enum Claims {
    /// The pool claims come from when the template names none (`spec.pool`): `default` when it
    /// exists, else the first by name. The planner binds waiting agents to the same pool
    /// (`Planner.claimPool`); ClaimPoolTests holds them equal.
    package static let poolSQL = "(SELECT name FROM pool.pools ORDER BY (name = 'default') DESC, name LIMIT 1)"

    package struct Claimed: Sendable { package let instanceID: String; package let url: String? }

    package static func claim(_ c: PostgresConnection, pool: String, agent: String, owner: String?, template: String?,
                      cloneFrom: String?) async throws -> Claimed? {
        let rows = try await c.query("""
            UPDATE pool.instances SET state = 'claimed', agent = $2, owner_id = $3, template_id = $4, claimed_at = now(),
                parent_instance = (SELECT instance_id FROM pool.instances WHERE agent = $5), updated_at = now()
            WHERE instance_id = (SELECT instance_id FROM pool.instances WHERE pool = $1 AND state = 'idle'
                                 ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
              -- A bind planned from a stale tick finds the agent bound already: nothing to do.
              AND NOT EXISTS (SELECT 1 FROM pool.instances WHERE agent = $2)
            RETURNING instance_id, url
            """, [pool, agent, owner, template, cloneFrom])
        guard let row = rows.first else { return nil }
        return Claimed(instanceID: try row.decode("instance_id"), url: try row.decode("url"))
    }
}

extension Claims {
    /// Why the claim statement wrote nothing.
    package enum Refusal: String, Sendable {
        /// The template does not exist.
        case template
        /// The template is private and the claimer is not its creator.
        case `private`
        /// The claim names a model and the template does not allow another.
        case model
        /// The template has `provisioning: user` tools and the claim's credentials were not checked.
        case userConfig
        /// The parent to clone does not exist or has another owner.
        case clone
    }

    package struct NewClaim: Sendable {
        /// Nil when the claim was accepted; then the agent exists.
        package let refusal: Refusal?
        /// The parent's owner, when `cloneFrom` named an agent that exists and is not being deleted.
        package let parentOwner: String?
        package let instanceID: String?
        package let url: String?
        /// The template as the claim read it, nil without one: the tools to provision follow from
        /// it with no read of their own.
        package let templateSpec: JSONText?

        /// The tools `spec`'s agent starts with, all still to make: what the reconciler would plan
        /// from the bound agent's row. A template that does not decode (apply never stores one)
        /// leaves them to the tick.
        package func toolsToStart(_ spec: AgentSpec) -> [ToolName] {
            let template = templateSpec.flatMap { try? JSONDecoder().decode(AgentTemplateSpec.self, from: $0.data) }
            if templateSpec != nil && template == nil { return [] }
            return AgentConfig.resolve(spec, template: template).toolsToProvision([:])
        }
    }

    /// `POST /api/pool/claim` in one statement, so one round trip: check the template (it exists,
    /// the claimer may use it, it allows the model, its user tools' credentials were checked) and
    /// the clone's owner, insert the agent, claim the oldest idle instance (`FOR UPDATE SKIP LOCKED`),
    /// and record the event. Data-modifying CTEs share one snapshot and the foreign keys are checked
    /// at the end of the statement, so the instance may name the agent inserted beside it.
    package static func claimNew(_ db: PostgresPool, agent: String, spec: AgentSpec, userConfigChecked: Bool) async throws -> NewClaim {
        // Straight to JSON text: the claim is the hot path (jsonb orders the keys itself).
        let specJSON = JSONText(data: try JSONEncoder().encode(spec))
        let rows = try await db.query(claimNewStatement, [spec.template, spec.owner, spec.cloneFrom, agent, specJSON, spec.model, userConfigChecked])
        let row = rows.first!
        return NewClaim(refusal: try row.decode("refusal", as: String?.self).flatMap(Refusal.init(rawValue:)),
                        parentOwner: try row.decode("parent_owner"), instanceID: try row.decode("instance_id"), url: try row.decode("url"),
                        templateSpec: try row.decode("template_spec"))
    }

    /// `claimNew`'s statement, prepared once per connection: it plans in longer than it runs
    /// (pgbench: 1,590 claims/s planned each time, 3,749/s prepared).
    package static let claimNewStatement = PreparedStatement("claims_claim_new", """
        WITH tpl AS (SELECT name, spec FROM pool.agent_templates WHERE name = $1),
        -- Gated on a clone being asked for: no plan, generic or not, reads agents for a claim that
        -- clones nothing (a one-time filter).
        parent AS (SELECT owner_id FROM pool.agents WHERE $3::text IS NOT NULL AND name = $3 AND deletion_requested_at IS NULL),
        checks AS (SELECT CASE
            WHEN $1::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tpl) THEN 'template'
            WHEN EXISTS (SELECT 1 FROM tpl WHERE spec->>'visibility' = 'private' AND spec->>'creator' IS NOT NULL
                         AND spec->>'creator' IS DISTINCT FROM $2) THEN 'private'
            WHEN $6::text IS NOT NULL AND EXISTS (SELECT 1 FROM tpl WHERE (spec->'model'->>'allowOverride')::boolean IS NOT TRUE) THEN 'model'
            WHEN NOT $7::boolean AND EXISTS (SELECT 1 FROM tpl, jsonb_array_elements(tpl.spec->'tools') t WHERE t->>'provisioning' = 'user')
                THEN 'userConfig'
            WHEN $3::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM parent WHERE owner_id = $2) THEN 'clone'
            END AS refusal),
        ok AS (SELECT 1 AS ok FROM checks WHERE refusal IS NULL),
        target AS (
            SELECT instance_id, url FROM pool.instances
            WHERE pool = coalesce((SELECT spec->>'pool' FROM tpl), \(poolSQL))
              AND state = 'idle' AND EXISTS (SELECT 1 FROM ok)
            ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1),
        agent AS (
            INSERT INTO pool.agents (name, spec, template, owner_id, clone_from, status)
            SELECT $4, $5::jsonb, $1, $2, $3,
                   jsonb_build_object('phase', CASE WHEN t.instance_id IS NULL THEN 'Pending' ELSE 'Provisioning' END,
                                      'observedGeneration', 0, 'conditions', '[]'::jsonb)
                   || jsonb_strip_nulls(jsonb_build_object('instanceId', t.instance_id, 'url', t.url))
            FROM ok LEFT JOIN target t ON true
            RETURNING name),
        claimed AS (
            UPDATE pool.instances i SET state = 'claimed', agent = (SELECT name FROM agent), owner_id = $2, template_id = $1,
                claimed_at = now(), parent_instance = (SELECT instance_id FROM pool.instances WHERE agent = $3), updated_at = now()
            FROM target WHERE i.instance_id = target.instance_id AND EXISTS (SELECT 1 FROM agent)
            RETURNING i.instance_id, i.url),
        event AS (
            INSERT INTO pool.events (kind, name, reason, message)
            SELECT 'Agent', name, CASE WHEN EXISTS (SELECT 1 FROM target) THEN 'Claimed' ELSE 'Waiting' END,
                   coalesce('bound to ' || (SELECT instance_id FROM target), 'no idle instance; the agent binds when one is ready')
            FROM agent)
        SELECT (SELECT refusal FROM checks) AS refusal, (SELECT owner_id FROM parent) AS parent_owner, c.instance_id, c.url,
               (SELECT spec FROM tpl) AS template_spec
        FROM (SELECT 1) one LEFT JOIN claimed c ON true
        """)

    /// The agent's conversation once its runtime is configured, or its join waiting for the
    /// owner's approval (no conversation yet, the join URL as its invite); nil until then.
    package static func conversation(_ db: PostgresPool, agent: String) async throws -> (conversationId: String?, inviteUrl: String?, joined: Bool)? {
        guard let row = try await db.query("""
            SELECT conversation_id, invite_url, coalesce(joined, false) AS joined FROM pool.instances
            WHERE agent = $1 AND (conversation_id IS NOT NULL OR acceptance = 'pending')
            """, [agent]).first else { return nil }
        return (try row.decode("conversation_id"), try row.decode("invite_url"), try row.decode("joined"))
    }
}
