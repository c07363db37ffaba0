import Foundation

/// What one fake runtime has been sent, and whether it is restarting.
struct RuntimeState: Sendable {
    var restartingUntil: ContinuousClock.Instant?
    /// Variables handed over with `/pool/restart-gateway`, merged as the real runtime merges them.
    var env: [String: String] = [:]
    /// Every bearer token presented, right or wrong: tests prove only the runtime's own key came.
    var bearers: Set<String> = []
    var provisions: [Data] = []
    var restarts: [[String]] = []
    var templates: [Data] = []
    var cloneSummaries: [Data] = []
}

/// The agent runtime's pool protocol (CONTRACT.md section 6) behind each instance URL, as
/// `runtime/scripts/pool-server.js` serves it: a key of its own (`POOL_API_KEY` from the service's
/// variables), health that turns ready `healthDelay` after the deploy succeeds, a provision that
/// makes a conversation, and a restart in place. The seed's "future" endpoints answer 404 unless
/// `runtimeExtensions` is on, as the real runtime never built them.
extension SimCloud {
    func runtime(serviceID: String, method: String, action: String, body: Data, authorization: String?) async -> SimResponse {
        guard let service = services[serviceID], let project = projects[service.projectID], !project.deleted else {
            return .json(["error": "no such instance"], status: 404)
        }
        if let bearer = authorization.flatMap({ $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }) {
            runtimes[serviceID, default: RuntimeState()].bearers.insert(bearer)
        }
        if let key = service.variables["POOL_API_KEY"], authorization != "Bearer \(key)" {
            return .json(["error": "Unauthorized"], status: 401)
        }
        switch (method, action) {
        case ("GET", "health"):
            return .json(["ready": runtimeReady(serviceID), "version": "sim-1", "runtime": "openclaw"])
        case ("POST", "provision"):
            guard runtimeReady(serviceID) else { return .json(["error": "Gateway not ready yet"], status: 503) }
            guard let request = jsonObject(body), let name = request["agentName"] as? String, !name.isEmpty else {
                return .json(["error": "agentName (string) is required"], status: 400)
            }
            guard let instructions = request["instructions"] as? String, !instructions.isEmpty else {
                return .json(["error": "instructions (string) is required"], status: 400)
            }
            try? await clock.sleep(for: options.provisionDelay)
            runtimes[serviceID, default: RuntimeState()].provisions.append(body)
            let joinUrl = request["joinUrl"] as? String
            let conversation = "conv_" + nextID()
            record("runtime", "provision", "conversation", id: conversation, name: project.name)
            return .json(["ok": true, "inviteUrl": joinUrl ?? "https://convos.org/invite/\(nextID())", "conversationId": conversation,
                          "joined": joinUrl != nil])
        case ("POST", "restart-gateway"):
            let env = (jsonObject(body)?["env"] as? [String: String]) ?? [:]
            runtimes[serviceID, default: RuntimeState()].env.merge(env) { _, new in new }
            runtimes[serviceID, default: RuntimeState()].restarts.append(env.keys.sorted())
            runtimes[serviceID, default: RuntimeState()].restartingUntil = .now + options.restartDelay
            try? await clock.sleep(for: options.restartDelay)
            return .json(["ok": true])
        case ("POST", "update-template") where options.runtimeExtensions:
            runtimes[serviceID, default: RuntimeState()].templates.append(body)
            return .json(["ok": true])
        case ("POST", "clone-summary") where options.runtimeExtensions:
            runtimes[serviceID, default: RuntimeState()].cloneSummaries.append(body)
            return .json(["ok": true])
        default:
            // The real runtime proxies every other path to the agent, which has none of them.
            return .json(["error": "Not Found"], status: 404)
        }
    }

    /// Ready once the latest deployment succeeded `healthDelay` ago, and not while restarting.
    func runtimeReady(_ serviceID: String) -> Bool {
        guard let service = services[serviceID], let latest = service.deployments.last, !latest.failed else { return false }
        let now = ContinuousClock.now
        guard now - latest.startedAt >= options.deployDelay + options.healthDelay else { return false }
        if let until = runtimes[serviceID]?.restartingUntil, now < until { return false }
        return true
    }

    /// `GET /_sim/runtime/ID`: what the runtime was sent, for tests.
    func runtimeRecord(serviceID: String) -> SimResponse {
        let state = runtimes[serviceID] ?? RuntimeState()
        func objects(_ list: [Data]) -> [Any] { list.compactMap { try? JSONSerialization.jsonObject(with: $0) } }
        return .json(["provisions": objects(state.provisions), "templates": objects(state.templates),
                      "cloneSummaries": objects(state.cloneSummaries), "restarts": state.restarts,
                      "env": state.env.keys.sorted(), "bearers": state.bearers.sorted(),
                      "variables": services[serviceID].map { Array($0.variables.keys).sorted() } ?? [String](),
                      "deployments": services[serviceID]?.deployments.count ?? 0,
                      "image": services[serviceID]?.image ?? "", "startCommand": services[serviceID]?.startCommand ?? "",
                      "ready": runtimeReady(serviceID)])
    }
}
