import Foundation
import Postgres
import Resources

/// An object as stored: what `GET /v1/{kind}/{name}` returns and the CLI prints.
public struct StoredObject: Sendable, Encodable, Equatable {
    public struct Metadata: Sendable, Encodable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var generation: Int
        public var resourceVersion: String
        public var createdAt: Date
        /// The last write, for the seed's `updatedAt`; not part of the object's JSON.
        public var updatedAt: Date
        public var deletionRequestedAt: Date?
    }

    public var apiVersion = ResourceKind.apiVersion
    public var kind: ResourceKind
    public var metadata: Metadata
    public var spec: JSONValue
    public var status: JSONValue

    /// The table each kind lives in. Kinds are a closed enum, so this is never user input.
    package static func table(_ kind: ResourceKind) -> String {
        switch kind {
        case .pool: return "pool.pools"
        case .agentTemplate: return "pool.agent_templates"
        case .agent: return "pool.agents"
        case .coupon: return "pool.coupons"
        }
    }

    package static func columns(_ kind: ResourceKind) -> String {
        let deletion = kind == .agent ? "deletion_requested_at" : "NULL::timestamptz AS deletion_requested_at"
        return "name, labels, spec, generation, resource_version, status, created_at, updated_at, \(deletion)"
    }

    package init(kind: ResourceKind, row: PostgresRows.Row) throws {
        self.kind = kind
        let labels = try JSONValue.decodeText(row.decode("labels", as: JSONText.self))
        metadata = Metadata(
            name: try row.decode("name"),
            labels: (try? labels.decode([String: String].self)) ?? [:],
            generation: try row.decode("generation"),
            resourceVersion: try row.decode("resource_version"),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"),
            deletionRequestedAt: try row.decode("deletion_requested_at"))
        spec = Self.shown(kind, try JSONValue.decodeText(row.decode("spec", as: JSONText.self)))
        status = try JSONValue.decodeText(row.decode("status", as: JSONText.self))
        // Shown at once, before the reconciler (the one writer of status) has written it.
        if metadata.deletionRequestedAt != nil, case .object(var object) = status, object["phase"] != .string(AgentPhase.terminating.rawValue) {
            object["phase"] = .string(AgentPhase.terminating.rawValue)
            status = .object(object)
        }
    }

    /// The spec as reads show it: a Coupon's code is write-only, and even its hash is not shown.
    package static func shown(_ kind: ResourceKind, _ spec: JSONValue) -> JSONValue {
        guard kind == .coupon, case .object(var fields) = spec else { return spec }
        fields["codeSha256"] = nil
        return .object(fields)
    }

    /// The object as a JSON value, keys in the order people expect to read them.
    public var json: JSONValue {
        var meta: [String: JSONValue] = [
            "name": .string(metadata.name),
            "generation": .int(metadata.generation),
            "resourceVersion": .string(metadata.resourceVersion),
            "createdAt": .string(ISO8601.format(metadata.createdAt)),
        ]
        if !metadata.labels.isEmpty { meta["labels"] = .object(metadata.labels.mapValues(JSONValue.string)) }
        if let d = metadata.deletionRequestedAt { meta["deletionRequestedAt"] = .string(ISO8601.format(d)) }
        return .object(["apiVersion": .string(apiVersion), "kind": .string(kind.rawValue),
                        "metadata": .object(meta), "spec": spec, "status": status])
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }
}

extension JSONValue {
    package static func decodeText(_ text: JSONText) throws -> JSONValue {
        try JSONValue.parse(text.data)
    }

    package var jsonText: JSONText { JSONText(data: canonicalData()) }
}
