import Foundation
import Resources

/// Objects of the Kubernetes API group `agents.convos.org/v1`, built from rows as the change log
/// (`pool.changes`) holds them: the table's row as JSON, at the resourceVersion of that change.
/// Called by the Kubernetes routes for GET, LIST and every watch event.
package enum KubeObject {
    package static let group = "agents.convos.org"
    package static let groupVersion = "agents.convos.org/v1"
    /// Held by an agent while its teardown runs (`metadata.finalizers`); it goes with the agent.
    package static let teardownFinalizer = "agents.convos.org/teardown"

    /// The object at `rv`, from the row as written.
    package static func make(kind: ResourceKind, rv: Int, row: JSONValue) -> JSONValue {
        var meta: [String: JSONValue] = [
            "name": row["name"] ?? .string(""),
            "resourceVersion": .string(String(rv)),
        ]
        if let uid = row["uid"] { meta["uid"] = uid }
        if let generation = row["generation"] { meta["generation"] = generation }
        if let created = row["created_at"]?.stringValue { meta["creationTimestamp"] = .string(timestamp(created)) }
        if case .object(let labels)? = row["labels"], !labels.isEmpty { meta["labels"] = .object(labels) }
        if case .object(let annotations)? = row["annotations"], !annotations.isEmpty { meta["annotations"] = .object(annotations) }
        var status = row["status"] ?? .object([:])
        if let deleting = row["deletion_requested_at"]?.stringValue {
            meta["deletionTimestamp"] = .string(timestamp(deleting))
            meta["finalizers"] = .array([.string(teardownFinalizer)])
            // Shown at once, before the reconciler (the one writer of status) has written it.
            if case .object(var object) = status, object["phase"] != .string(AgentPhase.terminating.rawValue) {
                object["phase"] = .string(AgentPhase.terminating.rawValue)
                status = .object(object)
            }
        }
        return .object(["apiVersion": .string(groupVersion), "kind": .string(kind.rawValue), "metadata": .object(meta),
                        "spec": StoredObject.shown(kind, row["spec"] ?? .object([:])), "status": status])
    }

    /// Postgres's `2026-12-02T00:12:38.474406+00:00` as Kubernetes writes times: `2026-12-02T00:12:38Z`.
    package static func timestamp(_ postgres: String) -> String {
        guard let date = ISO8601.parse(postgres) else { return postgres }
        return format(date)
    }

    package static func format(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
}
