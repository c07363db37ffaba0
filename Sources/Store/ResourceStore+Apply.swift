import Foundation
import Postgres
import Resources

/// What apply did to one object, as `POST /v1/apply` reports it.
public struct ApplyResult: Sendable, Codable, Equatable {
    public enum Action: String, Sendable, Codable { case created, configured, unchanged }
    public var kind: ResourceKind
    public var name: String
    public var action: Action
    public var generation: Int
}

extension ResourceStore {
    public enum ApplyMode: Sendable {
        /// Create or update (kubectl apply).
        case apply
        /// Only create; an existing object is a conflict (POST of the template API).
        case createOnly
        /// Only update; a missing object is not found (PUT of the template API).
        case updateOnly
    }

    /// Applies manifests in one transaction: all or nothing. With `dryRun` the transaction is rolled
    /// back after every check has run, so the results are exactly what a real apply would report.
    /// Results come back in the order of the manifests.
    public func apply(_ manifests: [Manifest], dryRun: Bool = false, mode: ApplyMode = .apply) async throws -> [ApplyResult] {
        try await applyInTransaction(manifests, dryRun: dryRun, mode: mode, plan: nil).results
    }

    /// A dry run that also says what the reconciler would do about the change (`DryRunPlan`): the
    /// planner on the stored state before the writes and after them, in the same transaction,
    /// which is then rolled back.
    public func dryRun(_ manifests: [Manifest], planner: PlannerSettings, now: Date) async throws -> (results: [ApplyResult], planned: [Action]) {
        let outcome = try await applyInTransaction(manifests, dryRun: true, mode: .apply, plan: (planner, now))
        return (outcome.results, outcome.planned ?? [])
    }

    private func applyInTransaction(_ manifests: [Manifest], dryRun: Bool, mode: ApplyMode,
                                    plan: (settings: PlannerSettings, now: Date)?) async throws -> (results: [ApplyResult], planned: [Action]?) {
        // What others refer to goes first, so a template and its agents can arrive in one request;
        // within a kind by name. Rows are locked in this order by every writer (the status writer
        // too), so two transactions never wait on each other in a circle.
        let ordered = manifests.enumerated().sorted {
            ($0.element.kind.applyOrder, $0.element.name, $0.offset) < ($1.element.kind.applyOrder, $1.element.name, $1.offset)
        }
        do {
            return try await db.transaction { c in
                var before: PlannerInput?
                if let plan { before = try await StoredView.input({ try await c.query($0, $1) }, now: plan.now, settings: plan.settings) }
                var results = [ApplyResult?](repeating: nil, count: manifests.count)
                for (index, manifest) in ordered {
                    results[index] = try await applyOne(c, manifest, mode: mode)
                }
                try await checkClones(c, manifests)
                try await checkModels(c, manifests)
                if dryRun {
                    var planned: [Action]?
                    if let plan, let before {
                        let after = try await StoredView.input({ try await c.query($0, $1) }, now: plan.now, settings: plan.settings)
                        planned = DryRunPlan.actions(before: before, after: after)
                    }
                    throw DryRunRollback(results: results.compactMap { $0 }, planned: planned)
                }
                return (results.compactMap { $0 }, nil)
            }
        } catch let rollback as DryRunRollback {
            return (rollback.results, rollback.planned)
        }
    }

    private struct DryRunRollback: Error { let results: [ApplyResult]; let planned: [Action]? }

    /// An object as the write that locked it sees it: its latest committed change (the Kubernetes
    /// resourceVersion and the row as written), read after its row lock was taken.
    public struct LockedObject: Sendable {
        public var changeVersion: Int
        public var row: JSONValue
    }

    /// One update with Kubernetes semantics (the apiserver's GuaranteedUpdate): the object's row is
    /// locked, `body` turns the object as read in this transaction into the manifest to write
    /// (checking a resourceVersion precondition, applying a patch), and the write follows in the
    /// same transaction. Concurrent updates of one object serialize on its row, so none is lost and
    /// of two carrying one resourceVersion only the first succeeds. Called by the Kubernetes PUT and
    /// PATCH routes; with `dryRun` everything runs and is rolled back.
    public func update(_ kind: ResourceKind, _ name: String, dryRun: Bool = false,
                       _ body: @Sendable (LockedObject) throws -> Manifest) async throws -> (result: ApplyResult, manifest: Manifest) {
        do {
            return try await db.transaction { c in
                let locked = try await c.query("SELECT name FROM \(StoredObject.table(kind)) WHERE name = $1 FOR UPDATE", [name])
                guard !locked.isEmpty else { throw StoreError.notFound(kind: kind, name: name) }
                // A new statement: its snapshot holds every change committed before the lock was ours.
                let change = try await c.query(
                    "SELECT rv, object FROM pool.changes WHERE kind = $1 AND name = $2 ORDER BY rv DESC LIMIT 1", [kind.rawValue, name])
                guard let row = change.first else { throw StoreError.notFound(kind: kind, name: name) }
                let current = LockedObject(changeVersion: try row.decode("rv"), row: try JSONValue.decodeText(row.decode("object")))
                var manifest = try body(current)
                // The body has checked the Kubernetes version; the table's own is not the same number.
                manifest.resourceVersion = nil
                let result = try await applyOne(c, manifest, mode: .updateOnly)
                try await checkClones(c, [manifest])
                try await checkModels(c, [manifest])
                if dryRun { throw UpdateRollback(result: result, manifest: manifest) }
                return (result, manifest)
            }
        } catch let rollback as UpdateRollback {
            return (rollback.result, rollback.manifest)
        }
    }

    private struct UpdateRollback: Error { let result: ApplyResult; let manifest: Manifest }

    private func applyOne(_ c: PostgresConnection, _ m: Manifest, mode: ApplyMode) async throws -> ApplyResult {
        let table = StoredObject.table(m.kind)
        let existing = try await c.query(
            "SELECT generation, resource_version, \(m.kind == .agent ? "deletion_requested_at, owner_id, clone_from" : "NULL AS deletion_requested_at") FROM \(table) WHERE name = $1 FOR UPDATE",
            [m.name])
        let spec = m.spec.jsonText
        let labels = JSONValue.object(m.labels.mapValues(JSONValue.string)).jsonText
        // nil keeps the stored annotations (an apply that does not mention them).
        let annotations = m.annotations.map { JSONValue.object($0.mapValues(JSONValue.string)).jsonText }

        guard let current = existing.first else {
            if mode == .updateOnly { throw StoreError.notFound(kind: m.kind, name: m.name) }
            if let rv = m.resourceVersion {
                throw StoreError.conflict("\(m.reference) does not exist, so it cannot be at resourceVersion \(rv)",
                                          [FieldError("metadata.resourceVersion", "object does not exist", object: m.reference)])
            }
            let generation = try await insert(c, m, spec: spec, labels: labels, annotations: annotations)
            try await Events.record(c, kind: m.kind, name: m.name, reason: "Created", message: "generation 1")
            return ApplyResult(kind: m.kind, name: m.name, action: .created, generation: generation)
        }
        if mode == .createOnly {
            throw StoreError.alreadyExists(kind: m.kind, name: m.name)
        }
        let currentVersion: String = try current.decode("resource_version")
        if let rv = m.resourceVersion, rv != currentVersion {
            throw StoreError.conflict(
                "\(m.reference) was changed since resourceVersion \(rv) (now \(currentVersion)); get it again and reapply",
                [FieldError("metadata.resourceVersion", "stale: current is \(currentVersion)", object: m.reference)])
        }
        if m.kind == .agent { try checkAgentUpdate(m, current) }

        let updated: PostgresRows
        do {
            updated = try await c.query("""
            UPDATE \(table) SET
                generation = generation + CASE WHEN spec = $2::jsonb THEN 0 ELSE 1 END,
                spec = $2::jsonb, labels = $3::jsonb, annotations = coalesce($4::jsonb, annotations),
                \(m.kind == .agent ? "template = $5," : "")
                resource_version = nextval('pool.resource_version_seq'), updated_at = now()
            WHERE name = $1 AND (spec <> $2::jsonb OR labels <> $3::jsonb OR annotations <> coalesce($4::jsonb, annotations))
            RETURNING generation
            """, m.kind == .agent ? [m.name, spec, labels, annotations, try m.typedSpec(AgentSpec.self).template] : [m.name, spec, labels, annotations])
        } catch PostgresError.server(let e) where e.isForeignKeyViolation {
            // Found by the apply fuzzer: an agent moved to a template that does not exist was a 500.
            throw missingTemplate(m)
        }
        guard let row = updated.first else {
            return ApplyResult(kind: m.kind, name: m.name, action: .unchanged, generation: try current.decode("generation"))
        }
        let generation: Int = try row.decode("generation")
        try await Events.record(c, kind: m.kind, name: m.name, reason: "Configured", message: "generation \(generation)")
        return ApplyResult(kind: m.kind, name: m.name, action: .configured, generation: generation)
    }

    private func insert(_ c: PostgresConnection, _ m: Manifest, spec: JSONText, labels: JSONText, annotations: JSONText?) async throws -> Int {
        let annotations = annotations ?? JSONValue.object([:]).jsonText
        do {
            switch m.kind {
            case .pool, .agentTemplate, .coupon:
                _ = try await c.query(
                    "INSERT INTO \(StoredObject.table(m.kind)) (name, spec, labels, annotations) VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb)",
                    [m.name, spec, labels, annotations])
            case .agent:
                let agent = try m.typedSpec(AgentSpec.self)
                let status = try JSONValue.from(AgentStatus(phase: .pending)).jsonText
                _ = try await c.query("""
                    INSERT INTO pool.agents (name, spec, labels, template, owner_id, clone_from, status, annotations)
                    VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6, $7::jsonb, $8::jsonb)
                    """, [m.name, spec, labels, agent.template, agent.owner, agent.cloneFrom, status, annotations])
            }
            return 1
        } catch PostgresError.server(let e) where e.isForeignKeyViolation {
            throw missingTemplate(m)
        }
    }

    /// The 422 for an agent whose template is neither stored nor earlier in the request.
    private func missingTemplate(_ m: Manifest) -> StoreError {
        let template = (try? m.typedSpec(AgentSpec.self).template) ?? ""
        return StoreError.unprocessable("\(m.reference): agenttemplate/\(template) does not exist",
                                        [FieldError("spec.template", "agenttemplate/\(template) does not exist", object: m.reference, mark: m.mark)])
    }

    /// An agent's owner and parent are fixed at creation; a Terminating agent takes no changes.
    private func checkAgentUpdate(_ m: Manifest, _ current: PostgresRows.Row) throws {
        let spec = try m.typedSpec(AgentSpec.self)
        if try current.decode("deletion_requested_at", as: Date?.self) != nil {
            throw StoreError.conflict("\(m.reference) is being deleted", [FieldError("metadata.name", "is being deleted", object: m.reference)])
        }
        var errors: [FieldError] = []
        if try current.decode("owner_id", as: String?.self) != spec.owner {
            errors.append(FieldError("spec.owner", "is immutable", object: m.reference))
        }
        if try current.decode("clone_from", as: String?.self) != spec.cloneFrom {
            errors.append(FieldError("spec.cloneFrom", "is immutable", object: m.reference))
        }
        if !errors.isEmpty { throw StoreError.unprocessable("\(m.reference): immutable fields changed", errors) }
    }

    /// An agent may name its own model only where its template allows override.
    private func checkModels(_ c: PostgresConnection, _ manifests: [Manifest]) async throws {
        var errors: [FieldError] = []
        for m in manifests where m.kind == .agent {
            let spec = try m.typedSpec(AgentSpec.self)
            guard spec.model != nil, let template = spec.template else { continue }
            let rows = try await c.query("SELECT (spec->'model'->>'allowOverride')::boolean AS allowed FROM pool.agent_templates WHERE name = $1", [template])
            if try rows.first?.decode("allowed", as: Bool?.self) != true {
                errors.append(FieldError("spec.model", "agenttemplate/\(template) does not allow another model", object: m.reference, mark: m.mark))
            }
        }
        if !errors.isEmpty { throw StoreError.unprocessable("model refused", errors) }
    }

    /// A clone's parent must exist (stored, or earlier in this batch) and have the same owner.
    private func checkClones(_ c: PostgresConnection, _ manifests: [Manifest]) async throws {
        var errors: [FieldError] = []
        for m in manifests where m.kind == .agent {
            let spec = try m.typedSpec(AgentSpec.self)
            guard let parent = spec.cloneFrom else { continue }
            let rows = try await c.query("SELECT owner_id FROM pool.agents WHERE name = $1", [parent])
            guard let owner = try rows.first?.decode("owner_id", as: String.self) else {
                errors.append(FieldError("spec.cloneFrom", "agent/\(parent) does not exist", object: m.reference, mark: m.mark))
                continue
            }
            if owner != spec.owner {
                errors.append(FieldError("spec.cloneFrom", "agent/\(parent) belongs to another owner", object: m.reference, mark: m.mark))
            }
        }
        if !errors.isEmpty { throw StoreError.unprocessable("clone refused", errors) }
    }
}
