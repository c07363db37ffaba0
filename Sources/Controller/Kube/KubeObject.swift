import Foundation
import Resources

/// Objects of the Kubernetes API group `agents.convos.org/v1`, built from rows as the change log
/// (`pool.changes`) holds them: the table's row as JSON, at the resourceVersion of that change.
/// Called by the Kubernetes routes for GET, LIST and every watch event.
enum KubeObject {
    static let group = "agents.convos.org"
    static let groupVersion = "agents.convos.org/v1"
    /// Held by an agent while its teardown runs (`metadata.finalizers`); it goes with the agent.
    static let teardownFinalizer = "agents.convos.org/teardown"

    /// The object at `rv`, from the row as written.
    static func make(kind: ResourceKind, rv: Int, row: JSONValue) -> JSONValue {
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
                        "spec": row["spec"] ?? .object([:]), "status": status])
    }

    /// Postgres's `2026-12-02T00:12:38.474406+00:00` as Kubernetes writes times: `2026-12-02T00:12:38Z`.
    static func timestamp(_ postgres: String) -> String {
        guard let date = ISO8601.parse(postgres) else { return postgres }
        return format(date)
    }

    static func format(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

    /// A manifest from an object sent to the Kubernetes API (POST, PUT, a patched object): the same
    /// decoder and checks as `/v1/apply`. The kind and name must be the route's.
    static func manifest(_ object: JSONValue, kind: ResourceKind, name: String?) throws -> Manifest {
        guard case .object(var fields) = object else {
            throw KubeStatus.badRequest("the body must be a JSON object")
        }
        // The route names the kind; an object without apiVersion or kind is taken as the route's.
        if fields["apiVersion"] == nil { fields["apiVersion"] = .string(groupVersion) }
        if fields["kind"] == nil { fields["kind"] = .string(kind.rawValue) }
        guard fields["kind"]?.stringValue == kind.rawValue else {
            throw KubeStatus.badRequest("kind \(fields["kind"]?.stringValue ?? "?") does not match the resource \(kind.plural)")
        }
        guard fields["apiVersion"]?.stringValue == groupVersion else {
            throw KubeStatus.badRequest("apiVersion must be \(groupVersion)")
        }
        let manifests: [Manifest]
        do {
            manifests = try ManifestDecoder.decode(documents: [JSONValue.object(fields).typedYAMLNode])
        } catch {
            throw KubeStatus.invalid(kind: kind, name: name ?? fields["metadata"]?["name"]?.stringValue ?? "", error.errors)
        }
        guard var manifest = manifests.first else { throw KubeStatus.badRequest("no object in the body") }
        if let name, manifest.name != name {
            throw KubeStatus.badRequest("metadata.name \(manifest.name) does not match the name in the path, \(name)")
        }
        // Kubernetes keeps annotations with the object: a write without them clears them.
        if manifest.annotations == nil { manifest.annotations = [:] }
        return manifest
    }
}
