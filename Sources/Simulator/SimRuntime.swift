import Foundation

/// What one fake runtime holds and has been sent. Kept by service id: its conversation lives on the
/// service's `/data` volume, so a redeploy keeps it.
struct RuntimeState: Sendable {
    var restartingUntil: ContinuousClock.Instant?
    /// Variables handed over with `/pool/restart` (`/pool/restart-gateway`), merged as the runtime merges them.
    var env: [String: String] = [:]
    /// Every bearer token presented, right or wrong: tests prove only the runtime's own key came.
    var bearers: Set<String> = []
    var provisions: [Data] = []
    var restarts: [[String]] = []
    var templates: [Data] = []
    var cloneSummaries: [Data] = []
    var metadata: [Data] = []
    var notifications: [Data] = []
    var resets = 0
    /// How many provisions came before the last reset: those after it are what the runtime holds.
    var provisionsBeforeReset = 0
    /// Calls it refused for their credentials (401).
    var refused = 0
    /// The conversation it is bound to; a join waiting for the owner's approval has none yet.
    var conversationId: String?
    var pending = false
    /// Its XMTP identity, made at first boot.
    var inboxId: String?
    /// Down (a test's fault): every route answers 503, as a crashed container behind Railway's edge.
    var down = false
    /// A conversation `/convos/reset` cannot drop (a test's fault: a dirty runtime).
    var stuck = false
    /// Today's runtime without a `GATEWAY_TOKEN` makes one up (`keys.sh`): no pool call then passes.
    var madeUpToken: String?
}

/// The runtime generations the simulator serves: the image decides, as on Railway.
/// - `today` (April 2026, the default): pool-server under `node convos-platform/pool-server/dist/index.js`
///   (any other start command runs no `/pool/*`), `GATEWAY_TOKEN` auth (none on health),
///   `/pool/restart`, `/convos/*`, `RUNTIME_TYPE` picking the harness (a `-hermes` image without
///   `RUNTIME_TYPE=hermes` never starts), hermes joins that wait for acceptance and call back.
/// - `seed` (February 2026; an image whose tag starts with `seed`, or every image under
///   `SimulatorOptions.runtime = .seed`): `POOL_API_KEY` on every route, `/pool/restart-gateway`, no `/convos/*`.
public enum RuntimeGeneration: String, Sendable, CaseIterable { case seed, today }

/// The agent runtime's protocol (CONTRACT.md section 6) behind each instance URL, for both generations.
extension SimCloud {
    static let poolServerCommand = "node convos-platform/pool-server/dist/index.js"

    func generation(_ service: Service) -> RuntimeGeneration {
        guard let image = service.image else { return options.runtime }
        let repository = Self.repository(image)
        let reference = image.contains("@") ? String(image.split(separator: "@").last ?? "") : ""
        let tag = image.contains("@") ? digests.first { $0.value == reference && $0.key.hasPrefix(repository + ":") }
            .map { String($0.key.dropFirst(repository.count + 1)) } : image.split(separator: ":").last.map(String.init)
        if (tag ?? "").hasPrefix("seed") { return .seed }
        if (tag ?? "").hasPrefix("today") { return .today }
        return options.runtime
    }

    /// `owner/name` of `registry/owner/name[:tag|@digest]`.
    static func repository(_ image: String) -> String {
        var rest = image.split(separator: "@").first.map(String.init) ?? image
        if let slash = rest.firstIndex(of: "/") { rest = String(rest[rest.index(after: slash)...]) }
        if let colon = rest.lastIndex(of: ":") { rest = String(rest[..<colon]) }
        return rest
    }

    func runtime(serviceID: String, method: String, area: String, action: String, body: Data, authorization: String?) async -> SimResponse {
        guard let service = services[serviceID], let project = projects[service.projectID], !project.deleted else {
            return .json(["error": "no such instance"], status: 404)
        }
        if let bearer = authorization.flatMap({ $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }) {
            runtimes[serviceID, default: RuntimeState()].bearers.insert(bearer)
        }
        if runtimes[serviceID]?.down == true { return .json(["error": "Application failed to respond"], status: 503) }
        let generation = generation(service)
        switch generation {
        case .seed:
            if let key = service.variables["POOL_API_KEY"], authorization != "Bearer \(key)" {
                // The pool's health ping goes without a token first: that one is expected.
                if !(area == "pool" && action == "health" && authorization == nil) { runtimes[serviceID, default: RuntimeState()].refused += 1 }
                return .json(["error": "Unauthorized"], status: 401)
            }
            guard area == "pool" else { return .json(["error": "Not Found"], status: 404) }
        case .today:
            // The image's own command runs the harness alone: no pool server, no `/pool/*`.
            if area == "pool", service.startCommand != Self.poolServerCommand { return .json(["error": "Not Found"], status: 404) }
            let open = area == "pool" && action == "health"
            if !open, authorization != "Bearer \(gatewayToken(serviceID))" {
                runtimes[serviceID, default: RuntimeState()].refused += 1
                return .json(["error": "Unauthorized"], status: 401)
            }
        }
        switch (method, area, action) {
        case ("GET", "pool", "health"):
            let ready = runtimeReady(serviceID)
            return .json(["ready": ready, "version": image(service).version, "runtime": harness(service)], status: ready || generation == .seed ? 200 : 503)
        case ("POST", "pool", "provision"):
            return await provision(serviceID, service: service, generation: generation, body: body)
        case ("POST", "pool", "restart") where generation == .today, ("POST", "pool", "restart-gateway") where generation == .seed:
            let env = (jsonObject(body)?["env"] as? [String: String]) ?? [:]
            runtimes[serviceID, default: RuntimeState()].env.merge(env) { _, new in new }
            runtimes[serviceID, default: RuntimeState()].restarts.append(env.keys.sorted())
            runtimes[serviceID, default: RuntimeState()].restartingUntil = .now + options.restartDelay
            try? await clock.sleep(for: options.restartDelay)
            return .json(["ok": true])
        case ("POST", "pool", "update-template") where options.runtimeExtensions:
            runtimes[serviceID, default: RuntimeState()].templates.append(body)
            return .json(["ok": true])
        case ("POST", "pool", "clone-summary") where options.runtimeExtensions:
            runtimes[serviceID, default: RuntimeState()].cloneSummaries.append(body)
            return .json(["ok": true])
        case ("GET", "convos", "status"):
            let state = runtimes[serviceID] ?? RuntimeState()
            return .json(["conversationId": state.conversationId.map { $0 as Any } ?? NSNull(), "pending": state.pending,
                          "clean": state.conversationId == nil && !state.pending, "inboxId": inboxID(serviceID)])
        case ("POST", "convos", "reset"):
            guard runtimes[serviceID]?.stuck != true else { return .json(["ok": true, "reset": false, "status": "bound"]) }
            runtimes[serviceID, default: RuntimeState()].conversationId = nil
            runtimes[serviceID, default: RuntimeState()].pending = false
            runtimes[serviceID, default: RuntimeState()].resets += 1
            runtimes[serviceID, default: RuntimeState()].provisionsBeforeReset = runtimes[serviceID]?.provisions.count ?? 0
            return .json(["ok": true, "reset": true, "status": "clean"])
        case ("POST", "convos", "update-metadata"):
            guard runtimes[serviceID]?.conversationId != nil else { return .json(["error": "No active conversation"], status: 400) }
            runtimes[serviceID, default: RuntimeState()].metadata.append(body)
            return .json(["ok": true])
        case ("POST", "convos", "notify"):
            runtimes[serviceID, default: RuntimeState()].notifications.append(body)
            return .json(["ok": true])
        default:
            // The real runtime proxies every other path to the agent, which has none of them.
            return .json(["error": "Not Found"], status: 404)
        }
    }

    /// `/pool/provision`: a conversation made or joined. A runtime already bound refuses (the
    /// harness's "already bound", which pool-server answers as a 500 after its retries); a hermes
    /// join waits for the owner's approval and calls its pool back when it is decided.
    private func provision(_ serviceID: String, service: Service, generation: RuntimeGeneration, body: Data) async -> SimResponse {
        guard runtimeReady(serviceID) else { return .json(["error": "Gateway not ready yet"], status: 503) }
        guard let request = jsonObject(body), let name = request["agentName"] as? String, !name.isEmpty else {
            return .json(["error": "agentName (string) is required"], status: 400)
        }
        guard let instructions = request["instructions"] as? String, !instructions.isEmpty else {
            return .json(["error": "instructions (string) is required"], status: 400)
        }
        try? await clock.sleep(for: options.provisionDelay)
        runtimes[serviceID, default: RuntimeState()].provisions.append(body)
        let state = runtimes[serviceID] ?? RuntimeState()
        if failingProvisions > 0 {
            failingProvisions -= 1
            if failingProvisionsDirty {
                runtimes[serviceID, default: RuntimeState()].conversationId = "conv_" + nextID()
                runtimes[serviceID, default: RuntimeState()].stuck = true
            }
            return .json(["error": "Provision failed: XMTP unavailable"], status: 500)
        }
        if generation == .today, state.conversationId != nil || state.pending {
            return .json(["error": "Provision failed: instance already bound to a conversation"], status: 500)
        }
        let joinUrl = request["joinUrl"] as? String
        let conversation = "conv_" + nextID()
        let projectName = projects[service.projectID]?.name ?? ""
        if generation == .today, harness(service) == "hermes", let joinUrl {
            runtimes[serviceID, default: RuntimeState()].pending = true
            scheduleAcceptance(serviceID, service: service, conversation: conversation, refused: joinUrl.contains("refuse"))
            return .json(["ok": true, "inviteUrl": joinUrl, "conversationId": NSNull(), "joined": false, "status": "pending_acceptance"])
        }
        runtimes[serviceID, default: RuntimeState()].conversationId = conversation
        record("runtime", "provision", "conversation", id: conversation, name: projectName)
        var answer: [String: Any] = ["ok": true, "inviteUrl": joinUrl ?? "https://convos.org/invite/\(nextID())", "conversationId": conversation,
                                     "joined": joinUrl != nil]
        if generation == .today { answer["status"] = joinUrl == nil ? "created" : "joined" }
        return .json(answer)
    }

    /// The hermes harness's callback once the owner decided: `pending-acceptance/complete` with the
    /// conversation, or `/fail`, on `POOL_URL` with the instance's own credentials.
    private func scheduleAcceptance(_ serviceID: String, service: Service, conversation: String, refused: Bool) {
        guard let pool = service.variables["POOL_URL"], let instance = service.variables["INSTANCE_ID"] else { return }
        let token = gatewayToken(serviceID)
        let delay = options.acceptanceDelay
        let sender = webhooks
        let clock = self.clock
        Task { [weak self] in
            try? await clock.sleep(for: delay)
            await self?.settleAcceptance(serviceID, conversation: refused ? nil : conversation)
            var body: [String: Any] = ["instanceId": instance, "gatewayToken": token]
            if !refused { body["conversationId"] = conversation }
            let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
            await sender.post(pool + "/api/pool/pending-acceptance/" + (refused ? "fail" : "complete"), data)
        }
    }

    private func settleAcceptance(_ serviceID: String, conversation: String?) {
        runtimes[serviceID, default: RuntimeState()].pending = false
        runtimes[serviceID, default: RuntimeState()].conversationId = conversation
        if let conversation { record("runtime", "provision", "conversation", id: conversation, name: serviceID) }
    }

    /// `GATEWAY_TOKEN`, or the one the runtime made up without it.
    func gatewayToken(_ serviceID: String) -> String {
        if let token = services[serviceID]?.variables["GATEWAY_TOKEN"] { return token }
        if let made = runtimes[serviceID]?.madeUpToken { return made }
        let made = nextID("made-up-")
        runtimes[serviceID, default: RuntimeState()].madeUpToken = made
        return made
    }

    func inboxID(_ serviceID: String) -> String {
        if let id = runtimes[serviceID]?.inboxId { return id }
        let id = "inbox_" + nextID()
        runtimes[serviceID, default: RuntimeState()].inboxId = id
        return id
    }

    /// `openclaw`, or `hermes` when a `-hermes` image runs with `RUNTIME_TYPE=hermes`.
    func harness(_ service: Service) -> String {
        service.variables["RUNTIME_TYPE"] == "hermes" ? "hermes" : "openclaw"
    }

    /// Ready once the latest deployment succeeded `healthDelay` ago, and not while restarting. A
    /// `-hermes` image under the openclaw harness (no `RUNTIME_TYPE=hermes`) never comes up.
    func runtimeReady(_ serviceID: String) -> Bool {
        guard let service = services[serviceID], let latest = service.deployments.last, !latest.failed else { return false }
        if generation(service) == .today, Self.repository(service.image ?? "").contains("runtime-hermes"), harness(service) != "hermes" {
            return false
        }
        let now = ContinuousClock.now
        guard now - latest.startedAt >= options.deployDelay + options.healthDelay else { return false }
        if let until = runtimes[serviceID]?.restartingUntil, now < until { return false }
        return true
    }

    /// The next `count` provisions fail with a 500; `dirty`: each leaves the runtime holding a
    /// conversation its reset cannot drop.
    func failProvisions(_ count: Int, dirty: Bool) {
        failingProvisions = count
        failingProvisionsDirty = dirty
    }

    /// `POST /_sim/runtime/ID`: tests set what a runtime holds (`{"conversationId"}`: a conversation
    /// the controller does not know).
    func setRuntime(serviceID: String, body: Data) -> SimResponse {
        guard services[serviceID] != nil, let object = jsonObject(body) else { return .json(["error": "no such runtime"], status: 404) }
        if object.keys.contains("conversationId") {
            runtimes[serviceID, default: RuntimeState()].conversationId = object["conversationId"] as? String
        }
        if let down = object["down"] as? Bool { runtimes[serviceID, default: RuntimeState()].down = down }
        return runtimeRecord(serviceID: serviceID)
    }

    /// `GET /_sim/runtime/ID`: what the runtime was sent, for tests.
    func runtimeRecord(serviceID: String) -> SimResponse {
        let state = runtimes[serviceID] ?? RuntimeState()
        func objects(_ list: [Data]) -> [Any] { list.compactMap { try? JSONSerialization.jsonObject(with: $0) } }
        return .json(["provisions": objects(state.provisions), "provisionsSinceReset": objects(Array(state.provisions.dropFirst(state.provisionsBeforeReset))),
                      "templates": objects(state.templates),
                      "cloneSummaries": objects(state.cloneSummaries), "restarts": state.restarts,
                      "metadata": objects(state.metadata), "notifications": objects(state.notifications), "resets": state.resets, "refused": state.refused,
                      "conversationId": state.conversationId.map { $0 as Any } ?? NSNull(), "pending": state.pending,
                      "env": state.env.keys.sorted(), "bearers": state.bearers.sorted(),
                      "variables": services[serviceID].map { Array($0.variables.keys).sorted() } ?? [String](),
                      "deployments": services[serviceID]?.deployments.count ?? 0,
                      "image": services[serviceID]?.image ?? "", "startCommand": services[serviceID]?.startCommand ?? "",
                      "ready": runtimeReady(serviceID)])
    }
}
