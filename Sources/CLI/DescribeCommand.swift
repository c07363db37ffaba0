import Foundation
import Sync
import Resources

/// `describe KIND NAME`, after kubectl's: the object's spec in short, its status and conditions,
/// the work on it that is backing off (from `/status`, with the next attempt), and its latest events
/// (`GET /v1/events`). Why an object is not ready, on one screen.
package enum DescribeCommand {
    package static let usage = "usage: convos-controller describe KIND NAME (KIND: pool, agenttemplate, agent, instance)"

    package static func run(_ args: [String], client: ControllerClient) async throws {
        let a = try Arguments(args, valued: [], flags: [])
        guard a.positional.count == 2 else { throw CLIFailure.usage(usage) }
        let kindArg = a.positional[0].lowercased()
        let (kind, plural): (String, String)
        if ["instance", "instances"].contains(kindArg) { (kind, plural) = ("Instance", "instances") }
        else if let k = ResourceKind(userInput: kindArg) { (kind, plural) = (k.rawValue, k.plural) }
        else { throw CLIFailure.usage("error: unknown kind \"\(a.positional[0])\"\n" + usage) }
        let name = a.positional[1]
        let escaped = name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+", "/"])) ?? name
        let object = try await client.send("GET", "/v1/\(plural)/\(escaped)", allow404: true)
        if object.status == 404 { throw CLIFailure(code: .refused, lines: ControllerClient.errorLines(object)) }
        let events = try await client.send("GET", "/v1/events?kind=\(kind)&name=\(escaped)&limit=20")
        // Backoffs are the leader's; another replica's /status may have none: the events still say.
        let status = try? await client.send("GET", "/status")
        print(render(kind: kind, object: JSONValue(jsonData: object.body), events: JSONValue(jsonData: events.body)["items"]?.arrayValue ?? [],
                     backoffs: status.map { JSONValue(jsonData: $0.body)["backoffs"]?.arrayValue ?? [] } ?? [], now: SystemClock().now),
              terminator: "")
    }

    /// The text `describe` prints. Pure, for tests.
    package static func render(kind: String, object: JSONValue, events: [JSONValue], backoffs: [JSONValue], now: Date) -> String {
        var out = ""
        func line(_ label: String, _ value: String, indent: Int = 0) {
            out += String(repeating: " ", count: indent) + (label + ":").padding(toLength: max(label.count + 2, 14 - indent), withPad: " ", startingAt: 0) + value + "\n"
        }
        let meta = object["metadata"]
        let name = meta?["name"]?.stringValue ?? object["id"]?.stringValue ?? "?"
        line("Name", name)
        line("Kind", kind)
        if let created = (meta?["createdAt"] ?? object["createdAt"])?.stringValue {
            line("Created", created + (ISO8601.parse(created).map { " (\(Table.age(now.timeIntervalSince($0))) ago)" } ?? ""))
        }
        if let generation = meta?["generation"] { line("Generation", text(generation)) }
        if case .object(let labels)? = meta?["labels"], !labels.isEmpty {
            line("Labels", labels.keys.sorted().map { "\($0)=\(text(labels[$0]!))" }.joined(separator: ","))
        }
        if let spec = object["spec"] {
            out += "Spec:\n"
            fields(spec, into: &out)
        }
        var conditions: [JSONValue] = []
        if let status = object["status"] {
            out += "Status:\n"
            fields(status, skipping: ["conditions"], into: &out)
            conditions = status["conditions"]?.arrayValue ?? []
        } else if meta == nil {
            // An instance: a flat object.
            out += "Instance:\n"
            fields(object, skipping: ["id", "createdAt"], into: &out)
        }
        if !conditions.isEmpty {
            out += "Conditions:\n"
            out += table(["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], conditions.map { c in
                [text(c["type"]), text(c["status"]), text(c["reason"]), age(c["lastTransitionTime"], now), text(c["message"])]
            })
        }
        let keys = keysOf(kind: kind, name: name, object: object)
        let mine = backoffs.filter { b in keys.contains { key in b["key"]?.stringValue.map { $0 == key || $0.hasPrefix(key + "/") } ?? false } }
        if !mine.isEmpty {
            out += "Backoff:\n"
            out += table(["KEY", "FAILURES", "NEXT ATTEMPT", "LAST ERROR"], mine.map { b in
                let next = b["nextAttempt"]?.stringValue.flatMap(ISO8601.parse).map { d in d > now ? "in \(Table.age(d.timeIntervalSince(now)))" : "now" } ?? "-"
                return [text(b["key"]), text(b["failures"]), next, text(b["lastError"])]
            })
        }
        out += "Events:"
        if events.isEmpty { out += " <none>\n"; return out }
        out += "\n" + table(["AGE", "TYPE", "REASON", "MESSAGE"], events.map { e in [age(e["at"], now), text(e["type"]), text(e["reason"]), text(e["message"])] })
        return out
    }

    /// The work queue keys of the object and, for an agent, of its instance.
    package static func keysOf(kind: String, name: String, object: JSONValue) -> [String] {
        switch kind {
        case "Agent": return ["agent/\(name)"] + (object["status"]?["instanceId"]?.stringValue.map { ["instance/\($0)"] } ?? [])
        case "Pool": return ["pool/\(name)"]
        case "Instance": return ["instance/\(name)", "orphan/\(name)"]
        default: return []
        }
    }

    /// Scalars as `key: value`; objects and lists as compact JSON on one line.
    package static func fields(_ value: JSONValue, skipping: Set<String> = [], into out: inout String) {
        guard case .object(let o) = value else { return }
        for key in o.keys.sorted() where !skipping.contains(key) {
            out += "  " + (key + ":").padding(toLength: max(key.count + 2, 16), withPad: " ", startingAt: 0) + text(o[key]!) + "\n"
        }
    }

    package static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case .double(let d)?: return String(d)
        case .bool(let b)?: return String(b)
        case .null?, nil: return "-"
        case let other?: return String(decoding: other.canonicalData(), as: UTF8.self)
        }
    }

    package static func age(_ value: JSONValue?, _ now: Date) -> String {
        value?.stringValue.flatMap(ISO8601.parse).map { Table.age(now.timeIntervalSince($0)) } ?? "-"
    }

    package static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { row in
            "  " + row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c] + 3, withPad: " ", startingAt: 0) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
