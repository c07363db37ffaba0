import Foundation
import Sync
import Resources

/// kubectl-style aligned tables for `get`.
package enum Table {
    package static func render(plural: String, items: [JSONValue], now: Date = SystemClock().now) -> String {
        let columns: [(String, (JSONValue) -> String)]
        func s(_ v: JSONValue?) -> String {
            switch v {
            case .string(let x)?: return x
            case .int(let i)?: return String(i)
            case .double(let d)?: return String(d)
            case .bool(let b)?: return String(b)
            default: return "-"
            }
        }
        let age: (JSONValue?) -> String = { v in
            guard let text = v?.stringValue, let date = ISO8601.parse(text) else { return "-" }
            return Self.age(now.timeIntervalSince(date))
        }
        /// The Ready condition as kubectl shows it: `False (Tainted)`.
        func ready(_ o: JSONValue) -> String {
            guard case .array(let conditions)? = o["status"]?["conditions"], let c = conditions.first(where: { $0["type"]?.stringValue == "Ready" }) else { return "-" }
            let reason = c["reason"]?.stringValue ?? ""
            return (c["status"]?.stringValue ?? "-") + (reason.isEmpty ? "" : " (\(reason))")
        }
        /// `openclaw 0.3.4`, or the acceptance state when there is one.
        func runtime(_ o: JSONValue) -> String {
            let text = [o["runtimeType"]?.stringValue, o["runtimeVersion"]?.stringValue].compactMap { $0 }.joined(separator: " ")
            let acceptance = o["acceptance"]?.stringValue.map { " [\($0)]" } ?? ""
            return (text.isEmpty ? "-" : text) + acceptance
        }
        switch plural {
        case "pools":
            columns = [("NAME", { s($0["metadata"]?["name"]) }), ("MIN-IDLE", { s($0["spec"]?["minIdle"]) }),
                       ("MAX", { s($0["spec"]?["maxInstances"]) }), ("IDLE", { s($0["status"]?["idle"]) }),
                       ("CLAIMED", { s($0["status"]?["claimed"]) }), ("AGE", { age($0["metadata"]?["createdAt"] ?? $0["metadata"]?["creationTimestamp"]) })]
        case "agenttemplates":
            columns = [("NAME", { s($0["metadata"]?["name"]) }), ("AGENT-NAME", { s($0["spec"]?["agentName"]) }),
                       ("MODEL", { s($0["spec"]?["model"]?["default"]) }), ("TOOLS", { tools($0["spec"]?["tools"]) }),
                       ("VISIBILITY", { s($0["spec"]?["visibility"]) }),
                       ("GENERATION", { s($0["metadata"]?["generation"]) }), ("AGE", { age($0["metadata"]?["createdAt"] ?? $0["metadata"]?["creationTimestamp"]) })]
        case "agents":
            columns = [("NAME", { s($0["metadata"]?["name"]) }), ("TEMPLATE", { s($0["spec"]?["template"]) }),
                       ("OWNER", { s($0["spec"]?["owner"]) }), ("PHASE", { s($0["status"]?["phase"]) }), ("READY", { ready($0) }),
                       ("INSTANCE", { s($0["status"]?["instanceId"]) }), ("AGE", { age($0["metadata"]?["createdAt"] ?? $0["metadata"]?["creationTimestamp"]) })]
        case "coupons":
            columns = [("NAME", { s($0["metadata"]?["name"]) }), ("INCREMENT-USD", { s($0["spec"]?["incrementUsd"]) }),
                       ("MAX-USD", { s($0["spec"]?["maxUsd"]) }), ("MAX-REDEMPTIONS", { s($0["spec"]?["maxRedemptions"]) }),
                       ("EXPIRES", { s($0["spec"]?["expiresAt"]) }), ("AGE", { age($0["metadata"]?["createdAt"] ?? $0["metadata"]?["creationTimestamp"]) })]
        default:
            columns = [("ID", { s($0["id"]) }), ("STATE", { s($0["state"]) }), ("HEALTH", { s($0["health"]) }), ("POOL", { s($0["pool"]) }),
                       ("AGENT", { s($0["agent"]) }), ("RUNTIME", { runtime($0) }), ("URL", { s($0["url"]) }), ("AGE", { age($0["createdAt"]) })]
        }
        let rows = [columns.map(\.0)] + items.map { item in columns.map { $0.1(item) } }
        let widths = columns.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c] + 3, withPad: " ", startingAt: 0) }
                .joined()
        }.joined(separator: "\n") + "\n"
    }

    /// A template's tools as `email,sms(user)`: the ids, with the provisioning mode when it is the user's.
    package static func tools(_ value: JSONValue?) -> String {
        let items = value?.arrayValue ?? []
        guard !items.isEmpty else { return "-" }
        return items.map { t in
            (t["id"]?.stringValue ?? "?") + (t["provisioning"]?.stringValue == "user" ? "(user)" : "")
        }.joined(separator: ",")
    }

    package static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
