import Foundation
import Resources

/// `claim` and `status`: clients of `POST /api/pool/claim` and `GET /status`.
enum OperatorCommands {
    static func claim(_ args: [String], client: ControllerClient) async throws {
        let a = try Arguments(args, valued: ["--template", "--owner", "--clone-from"], flags: [])
        guard let template = a.values["--template"], let owner = a.values["--owner"], a.positional.isEmpty else {
            throw CLIFailure.usage("usage: convos-controller claim --template T --owner O [--clone-from AGENT]")
        }
        var body = ["templateId": template, "ownerId": owner]
        body["cloneFrom"] = a.values["--clone-from"]
        let response = try await client.send("POST", "/api/pool/claim", body: try JSONEncoder().encode(body), contentType: "application/json")
        let json = response.json
        let agent = json["agent"] as? String ?? "?"
        if let instance = json["instanceId"] as? String {
            print("agent/\(agent) claimed instance \(instance) at \(json["url"] as? String ?? "-")")
        } else {
            print("agent/\(agent) waiting: the pool is empty; it binds when an instance is ready")
        }
    }

    static func status(_ args: [String], client: ControllerClient) async throws {
        guard args.isEmpty else { throw CLIFailure.usage("usage: convos-controller status") }
        let s = JSONValue(jsonData: try await client.send("GET", "/status").body)
        var lines: [[String]] = [["POOL", "IDLE", "PROVISIONING", "CLAIMED", "FAILED", "DELETING"]]
        if case .object(let pools)? = s["pools"] {
            for (name, counts) in pools.sorted(by: { $0.key < $1.key }) {
                lines.append([name] + ["idle", "provisioning", "claimed", "failed", "deleting"].map { String(counts[$0]?.intValue ?? 0) })
            }
        }
        print(align(lines))
        var agents: [[String]] = [["PHASE", "AGENTS"]]
        if case .object(let phases)? = s["agents"] {
            for phase in AgentPhase.allCases { agents.append([phase.rawValue, String(phases[phase.rawValue]?.intValue ?? 0)]) }
        }
        print(align(agents))
        let leader = s["leader"]
        let tick = s["lastTick"]
        print(align([["LEADER", "TOKEN", "LAST TICK", "TICK MS", "ACTIONS", "QUEUE", "BACKOFFS"],
                     [leader?["identity"]?.stringValue ?? "none", leader?["fencingToken"]?.intValue.map(String.init) ?? "-",
                      tick?["at"]?.stringValue ?? "-", tick?["durationMs"].map(ms) ?? "-", String(tick?["actions"]?.intValue ?? 0),
                      String(s["queueDepth"]?.intValue ?? 0), String(s["backoffs"]?.arrayValue?.count ?? 0)]]))
        var providers: [[String]] = [["PROVIDER", "BREAKER", "CALLS", "ERRORS", "RETRIES"]]
        for p in s["providers"]?.arrayValue ?? [] {
            providers.append([p["name"]?.stringValue ?? "?", p["breaker"]?.stringValue ?? "?", String(p["calls"]?.intValue ?? 0),
                              String(p["errors"]?.intValue ?? 0), String(p["retries"]?.intValue ?? 0)])
        }
        print(align(providers), terminator: "")
    }

    static func ms(_ v: JSONValue) -> String {
        switch v {
        case .double(let d): return String(format: "%.1f", d)
        case .int(let i): return String(i)
        default: return "-"
        }
    }

    static func align(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c] + 3, withPad: " ", startingAt: 0) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
