import Foundation
import Resources

/// `claim` and `status`: clients of `POST /api/pool/claim` and `GET /status`.
package enum OperatorCommands {
    package static let claimUsage = """
        usage: convos-controller claim [--template T] [--owner O] [--agent-name N] [--instructions I] [--join-url U]
                                       [--model M] [--user-config KEY=VALUE]... [--clone-from AGENT] [--wait DURATION]
        """

    /// Claims an agent and prints its invite URL (alone on the last line) once the runtime is configured.
    package static func claim(_ args: [String], client: ControllerClient) async throws {
        let options = ["--template": "templateId", "--owner": "ownerId", "--agent-name": "agentName", "--instructions": "instructions",
                       "--join-url": "joinUrl", "--model": "model", "--clone-from": "cloneFrom"]
        let a = try Arguments(args, valued: Set(options.keys).union(["--user-config", "--wait"]), flags: [])
        guard a.positional.isEmpty else { throw CLIFailure.usage(claimUsage) }
        var body: [String: JSONValue] = [:]
        for (flag, field) in options { if let value = a.values[flag] { body[field] = .string(value) } }
        var userConfig: [String: JSONValue] = [:]
        for pair in a.all["--user-config"] ?? [] {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { throw CLIFailure.usage("error: --user-config takes KEY=VALUE, got \(pair)") }
            userConfig[String(pair[..<eq])] = .string(String(pair[pair.index(after: eq)...]))
        }
        if !userConfig.isEmpty { body["userConfig"] = .object(userConfig) }
        var path = "/api/pool/claim"
        if let wait = a.values["--wait"] {
            guard let d = Durations.parse(wait), d >= .zero, d <= .seconds(300) else {
                throw CLIFailure.usage("error: --wait takes a duration from 0s to 300s, like 30s, got \(wait)")
            }
            path += "?wait=\(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)"
        }
        let response = try await client.send("POST", path, body: JSONValue.object(body).canonicalData(), contentType: "application/json")
        let json = response.json
        let agent = json["agent"] as? String ?? "?"
        guard let instance = json["instanceId"] as? String else {
            print("agent/\(agent) waiting: the pool is empty; it binds when an instance is ready")
            return
        }
        guard let invite = json["inviteUrl"] as? String else {
            print("agent/\(agent) claimed instance \(instance); not configured within the wait: `convos-controller get agent \(agent)` shows the invite")
            return
        }
        let verb = json["joined"] as? Bool == true ? "joined" : "created"
        print("agent/\(agent) claimed instance \(instance); \(verb) conversation \(json["conversationId"] as? String ?? "?")")
        print(invite)
    }

    package static func status(_ args: [String], client: ControllerClient) async throws {
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

    package static func ms(_ v: JSONValue) -> String {
        switch v {
        case .double(let d): return String(format: "%.1f", d)
        case .int(let i): return String(i)
        default: return "-"
        }
    }

    package static func align(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c] + 3, withPad: " ", startingAt: 0) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
