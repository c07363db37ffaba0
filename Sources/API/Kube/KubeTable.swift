import Foundation
import Sync
import Resources

/// `kubectl get`'s tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the columns
/// each kind shows, `-o wide` extras at priority 1.
package enum KubeTable {
    package struct Column {
        package let name: String
        package let type: String
        package let priority: Int
        package let description: String
        package let cell: (JSONValue, Date) -> JSONValue
    }

    package static func wants(_ accept: String?) -> Bool { (accept ?? "").contains("as=Table") }

    package static func columns(_ resource: String) -> [Column] {
        let name = Column(name: "Name", type: "string", priority: 0, description: "the object's name") { o, _ in o["metadata"]?["name"] ?? "" }
        let age = Column(name: "Age", type: "string", priority: 0, description: "since creation") { o, now in
            .string(o["metadata"]?["creationTimestamp"]?.stringValue.flatMap(ISO8601.parse).map { humanAge(now.timeIntervalSince($0)) } ?? "<unknown>")
        }
        func text(_ title: String, priority: Int = 0, _ path: String...) -> Column {
            Column(name: title, type: "string", priority: priority, description: path.joined(separator: ".")) { o, _ in
                var value: JSONValue? = o
                for key in path { value = value?[key] }
                switch value {
                case .string(let s)?: return .string(s)
                case .int(let i)?: return .string(String(i))
                case .double(let d)?: return .string(OpenRouterSettings.format(d))
                case .bool(let b)?: return .string(String(b))
                default: return ""
                }
            }
        }
        func condition(_ title: String, _ type: String, priority: Int = 0) -> Column {
            Column(name: title, type: "string", priority: priority, description: "condition \(type)") { o, _ in
                guard case .array(let conditions)? = o["status"]?["conditions"],
                      let c = conditions.first(where: { $0["type"]?.stringValue == type }) else { return "" }
                let status = c["status"]?.stringValue ?? ""
                let reason = c["reason"]?.stringValue ?? ""
                return .string(reason.isEmpty ? status : "\(status) (\(reason))")
            }
        }
        switch resource {
        case "agents":
            return [name, text("Template", "spec", "template"), text("Owner", "spec", "owner"), text("Phase", "status", "phase"),
                    condition("Ready", "Ready"), text("Instance", "status", "instanceId"), text("Invite", "status", "inviteUrl"), age,
                    text("Runtime", priority: 1, "status", "runtimeVersion"), text("URL", priority: 1, "status", "url"),
                    text("Conversation", priority: 1, "status", "conversationId")]
        case "coupons":
            return [name, text("Increment-USD", "spec", "incrementUsd"), text("Max-USD", "spec", "maxUsd"),
                    text("Max-Redemptions", "spec", "maxRedemptions"), text("Expires", "spec", "expiresAt"), age]
        case "pools":
            // The rollout's progress as kubectl shows a Deployment's: updated of total, upgrading, its phase.
            let updated = Column(name: "Up-To-Date", type: "string", priority: 0, description: "status.rollout updated/total") { o, _ in
                guard let r = o["status"]?["rollout"], let u = r["updated"]?.intValue, let n = r["total"]?.intValue else { return "" }
                return .string("\(u)/\(n)")
            }
            return [name, text("Min-Idle", "spec", "minIdle"), text("Idle", "status", "idle"), text("Claimed", "status", "claimed"),
                    updated, text("Upgrading", "status", "rollout", "upgrading"), text("Rollout", "status", "rollout", "phase"),
                    condition("Progressing", "Progressing"), age,
                    text("Max", priority: 1, "spec", "maxInstances"), text("Provisioning", priority: 1, "status", "provisioning"),
                    text("Failed", priority: 1, "status", "failed"), text("Digest", priority: 1, "status", "imageDigest")]
        case "agenttemplates":
            return [name, text("Agent-Name", "spec", "agentName"), text("Model", "spec", "model", "default"),
                    text("Visibility", "spec", "visibility"), text("Agents", "status", "agents"), age,
                    text("Synced", priority: 1, "status", "agentsSynced")]
        case "instances":
            return [name, text("State", "status", "state"), text("Pool", "status", "pool"), text("Agent", "status", "agent"),
                    text("Health", "status", "health"), age,
                    text("URL", priority: 1, "status", "url"), text("Digest", priority: 1, "status", "imageDigest"),
                    text("Runtime", priority: 1, "status", "runtimeType"), text("Version", priority: 1, "status", "runtimeVersion")]
        case "events":
            let lastSeen = Column(name: "Last Seen", type: "string", priority: 0, description: "when it last happened") { o, now in
                let at = (o["lastTimestamp"] ?? o["eventTime"])?.stringValue.flatMap(ISO8601.parse)
                return .string(at.map { humanAge(now.timeIntervalSince($0)) } ?? "<unknown>")
            }
            let object = Column(name: "Object", type: "string", priority: 0, description: "what it is about") { o, _ in
                let ref = o["involvedObject"] ?? o["regarding"]
                return .string("\((ref?["kind"]?.stringValue ?? "").lowercased())/\(ref?["name"]?.stringValue ?? "")")
            }
            let message = Column(name: "Message", type: "string", priority: 0, description: "what happened") { o, _ in
                (o["message"] ?? o["note"]) ?? ""
            }
            return [lastSeen, text("Type", "type"), text("Reason", "reason"), object, message]
        default:
            return [name, age]
        }
    }

    /// The Table for `objects`; `includeObject` is the client's choice (Metadata by default).
    package static func table(resource: String, objects: [JSONValue], listRV: String?, includeObject: String?, now: Date = SystemClock().now) -> JSONValue {
        let columns = columns(resource)
        var metadata: [String: JSONValue] = [:]
        if let listRV { metadata["resourceVersion"] = .string(listRV) }
        return .object([
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(metadata),
            "columnDefinitions": .array(columns.map { c in
                .object(["name": .string(c.name), "type": .string(c.type), "format": c.name == "Name" ? "name" : "",
                         "description": .string(c.description), "priority": .int(c.priority)])
            }),
            "rows": .array(objects.map { row($0, columns: columns, includeObject: includeObject, now: now) }),
        ])
    }

    package static func row(_ object: JSONValue, columns: [Column], includeObject: String?, now: Date) -> JSONValue {
        let embedded: JSONValue
        switch includeObject {
        case "None": embedded = .null
        case "Object": embedded = object
        default:
            embedded = .object(["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? .object([:])])
        }
        return .object(["cells": .array(columns.map { $0.cell(object, now) }), "object": embedded])
    }

    /// Kubernetes' short ages: 45s, 3m20s, 42m, 5h12m, 3d4h, 45d.
    package static func humanAge(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        switch s {
        case ..<120: return "\(s)s"
        case ..<600: return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s"
        case ..<10_800: return "\(s / 60)m"
        case ..<28_800: let m = (s / 60) % 60; return m == 0 ? "\(s / 3600)h" : "\(s / 3600)h\(m)m"
        case ..<172_800: return "\(s / 3600)h"
        case ..<691_200: let h = (s / 3600) % 24; return h == 0 ? "\(s / 86400)d" : "\(s / 86400)d\(h)h"
        default: return "\(s / 86400)d"
        }
    }
}
