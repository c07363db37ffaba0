import Foundation

/// `rollout status|pause|resume|undo pool/NAME`: a pool's runtime rollout to its claimed agents,
/// kubectl-style. `status` follows it until it is complete (exit 0) or halted (exit 1), printing
/// each change of its counts; the others say it to the controller.
package enum RolloutClient {
    package static let usage = "usage: convos-controller rollout status|pause|resume|undo pool/NAME"

    package static func run(_ args: [String], client: ControllerClient, poll: Duration = .seconds(1)) async throws {
        guard args.count == 2, ["status", "pause", "resume", "undo"].contains(args[0]), args[1].hasPrefix("pool/") || args[1].hasPrefix("pools/") else {
            throw CLIFailure.usage(usage)
        }
        let name = String(args[1].split(separator: "/", maxSplits: 1)[1])
        guard args[0] == "status" else {
            _ = try await client.send("POST", "/v1/pools/\(name)/rollout/\(args[0])")
            print("pool/\(name) rollout \(args[0] == "undo" ? "undone" : args[0] + "d")")
            return
        }
        var last = ""
        while true {
            let pool = try await client.send("GET", "/v1/pools/\(name)").json
            let status = pool["status"] as? [String: Any] ?? [:]
            guard let rollout = status["rollout"] as? [String: Any] else {
                print("pool/\(name): no rollout; its claimed agents run its digest")
                return
            }
            let (total, updated, upgrading) = (rollout["total"] as? Int ?? 0, rollout["updated"] as? Int ?? 0, rollout["upgrading"] as? Int ?? 0)
            let phase = rollout["phase"] as? String ?? ""
            if phase == "Halted" {
                let condition = (status["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "Progressing" }
                throw CLIFailure(code: .changes, lines: ["error: pool/\(name) rollout halted: \(condition?["message"] as? String ?? "an upgrade failed")"])
            }
            if phase == "Complete" {
                print("pool/\(name) successfully rolled out: \(updated) of \(total) agents on \(rollout["targetDigest"] as? String ?? "")")
                return
            }
            let line = "Waiting for pool/\(name) rollout to finish: \(updated) of \(total) agents updated, \(upgrading) upgrading"
                + ((rollout["paused"] as? Bool) == true ? " (paused: `rollout resume` to go on)" : "") + "..."
            if line != last { print(line); last = line }
            try await Task.sleep(for: poll)
        }
    }
}
