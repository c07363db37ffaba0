import Foundation
import HTTPServer
import Postgres
import Providers
import Resources
import Services
import Sync
import Telemetry

/// The services proxy (CONTRACT.md section 8, `runtime-head.md` 3b): a runtime reaches email and
/// SMS through the controller, holding no provider key. `Authorization: Bearer INSTANCE_ID:GATEWAY_TOKEN`
/// (401 without, 403 wrong); the instance must be claimed. Which inbox and number are the
/// instance's comes from our rows, never from the request; every id is checked against an
/// alphabet and percent-encoded (`Forwarding`); only the providers' documented query parameters
/// and body fields pass; answers pass through with their status. Limits per instance: reads 600
/// a minute, emails 100 an hour, texts 50 an hour (429 with `Retry-After`); every send is an event
/// (its recipient count, never its text), every call a metric by tool, route and outcome, and the
/// proxy's own time beside the provider's a histogram.
public struct ServicesProxy: Sendable {
    let db: PostgresPool
    let services: InProcessServices
    let metrics: Metrics
    let clock: any Clock
    let reads: CallLimiter
    let emails: CallLimiter
    let texts: CallLimiter
    /// Callers proved in the last few seconds (production's proxy keeps them 5 minutes).
    let recent: CallerCache

    public init(db: PostgresPool, services: InProcessServices, metrics: Metrics, clock: any Clock,
                readsPerMinute: Int = 600, emailsPerHour: Int = 100, textsPerHour: Int = 50) {
        self.db = db
        self.services = services
        self.metrics = metrics
        self.clock = clock
        self.reads = CallLimiter(capacity: readsPerMinute, window: 60, clock: clock)
        self.emails = CallLimiter(capacity: emailsPerHour, window: 3600, clock: clock)
        self.texts = CallLimiter(capacity: textsPerHour, window: 3600, clock: clock)
        self.recent = CallerCache(clock: clock)
    }

    /// AgentMail's documented list parameters, and the send body's and label patch's fields.
    static let mailListQuery: Set<String> = ["limit", "page_token", "labels", "before", "after", "ascending", "include_spam"]
    static let mailSendFields: Set<String> = ["to", "cc", "bcc", "subject", "text", "html", "attachments", "labels", "reply_to", "headers"]
    static let mailPatchFields: Set<String> = ["add_labels", "remove_labels"]
    /// Telnyx's detail-record filters a runtime may set (`filter[cld]` is always its own number).
    static let recordQuery: Set<String> = ["filter[record_type]", "filter[direction]", "page[size]", "page[number]"]
    static let smsSendFields: Set<String> = ["to", "text", "media_urls", "subject"]

    /// Who called: a claimed instance that proved its pair.
    struct ProxyCaller: Sendable {
        let instance: String
        let agent: String
        let declared: Set<ToolName>
        /// Its inbox and number as our rows record them, read with its credentials.
        let targets: InProcessServices.ProxyTargets
        /// The time this call spent waiting on the provider, so the proxy's own is told apart.
        let upstream: UpstreamTime
    }

    /// Time spent in provider calls during one proxied request.
    final class UpstreamTime: Sendable {
        private let spent = Locked(Duration.zero)
        var total: Duration { spent.withLock { $0 } }
        func time<T>(_ call: () async throws -> T) async rethrows -> T {
            let started = ContinuousClock.now
            defer { spent.withLock { $0 += ContinuousClock.now - started } }
            return try await call()
        }
    }

    enum Checked { case caller(ProxyCaller), refused(HTTPResponse) }

    func add(_ router: inout Router) {
        let proxy = self
        router.add("GET", "/api/proxy/info") { r in await proxy.run(r, "info", tool: "none") { c in try await proxy.info(c) } }
        router.add("POST", "/api/proxy/email/send") { r in await proxy.run(r, "email/send", tool: "email") { c in try await proxy.sendMail(c, r) } }
        for list in ["messages", "threads"] {
            router.add("GET", "/api/proxy/email/" + list) { r in
                await proxy.run(r, "email/" + list, tool: "email") { c in try await proxy.listMail(c, r, list) }
            }
        }
        for method in ["GET", "PATCH"] {
            router.add(method, "/api/proxy/email/messages/:id") { r in
                await proxy.run(r, "email/message", tool: "email") { c in try await proxy.message(c, r) }
            }
        }
        router.add("POST", "/api/proxy/sms/send") { r in await proxy.run(r, "sms/send", tool: "sms") { c in try await proxy.sendText(c, r) } }
        router.add("GET", "/api/proxy/sms/records") { r in await proxy.run(r, "sms/records", tool: "sms") { c in try await proxy.records(c, r) } }
        router.add("GET", "/api/proxy/sms/messages/:id") { r in await proxy.run(r, "sms/message", tool: "sms") { c in try await proxy.text(c, r) } }
        for tool in [ToolName.email, .sms] {
            router.add("POST", "/api/proxy/\(tool.rawValue)/provision") { r in
                await proxy.run(r, "\(tool.rawValue)/provision", tool: tool.rawValue) { c in try await proxy.provision(c, tool) }
            }
            router.add("POST", "/api/proxy/\(tool.rawValue)/unprovision") { r in
                await proxy.run(r, "\(tool.rawValue)/unprovision", tool: tool.rawValue) { c in try await proxy.unprovision(c, tool) }
            }
        }
    }

    /// Authenticates, limits reads, runs the route, counts the outcome; errors are today's pool's shape.
    private func run(_ request: HTTPRequest, _ route: String, tool: String, _ body: (ProxyCaller) async throws -> HTTPResponse) async -> HTTPResponse {
        let started = ContinuousClock.now
        let upstream = UpstreamTime()
        let response: HTTPResponse
        switch await check(request, upstream) {
        case .refused(let refusal): response = refusal
        case .caller(let caller):
            if request.method == "GET", let wait = await reads.take(caller.instance) {
                response = Self.limited(wait, "too many reads from this instance")
            } else {
                do { response = try await body(caller) } catch let error as ServicesError {
                    response = Self.error(error.status >= 500 ? 502 : error.status, error.message)
                } catch {
                    response = Self.error(502, "the provider could not be reached")
                }
            }
        }
        let outcome = response.status < 300 ? "ok" : response.status == 429 ? "limited" : response.status < 500 ? "refused" : "failed"
        metrics.increment("convos_proxy_calls_total", ["tool": tool, "route": route, "outcome": outcome])
        let whole = ContinuousClock.now - started
        metrics.observe("convos_proxy_seconds", ["route": route], seconds: Metrics.seconds(whole))
        // What the proxy adds to the provider's own time: checks, our rows, the hop itself.
        metrics.observe("convos_proxy_added_seconds", ["route": route], seconds: Metrics.seconds(whole - upstream.total))
        return response
    }

    private func check(_ request: HTTPRequest, _ upstream: UpstreamTime) async -> Checked {
        guard let header = request.header("authorization"), header.hasPrefix("Bearer "),
              let colon = header.dropFirst(7).firstIndex(of: ":") else {
            return .refused(Self.error(401, "Missing instance credentials"))
        }
        let instance = String(header.dropFirst(7)[..<colon]), token = String(header[header.index(after: colon)...])
        // Proved lately: only its tools are read again (the reconciler may have made one since).
        if let known = await recent.caller(instance, token: token), let targets = try? await services.proxyTargets(instance) {
            return .caller(ProxyCaller(instance: known.instance, agent: known.agent, declared: known.declared, targets: targets, upstream: upstream))
        }
        guard let found = try? await services.proxyCredentials(instance), ConstantTime.equal(token, found.secret) else {
            return .refused(Self.error(403, "Invalid instance ID or token"))
        }
        guard let row = try? await db.query("""
            SELECT i.agent, t.spec AS template_spec FROM pool.instances i JOIN pool.agents a ON a.name = i.agent
            LEFT JOIN pool.agent_templates t ON t.name = a.template WHERE i.instance_id = $1 AND i.state = 'claimed'
            """, [instance]).first, let agent: String = try? row.decode("agent") else {
            return .refused(Self.error(403, "instance \(instance) is not claimed"))
        }
        let template = (try? row.decode("template_spec", as: JSONText?.self)).flatMap { $0 }
            .flatMap { try? JSONDecoder().decode(AgentTemplateSpec.self, from: $0.data) }
        let caller = ProxyCaller(instance: instance, agent: agent, declared: Set(template?.toolNames ?? []), targets: found.targets, upstream: upstream)
        await recent.keep(caller, token: found.secret)
        return .caller(caller)
    }

    private func info(_ c: ProxyCaller) async throws -> HTTPResponse {
        let targets = c.targets
        return Self.json(["instanceId": .string(c.instance), "email": targets.inbox.map(JSONValue.string) ?? .null,
                          "phone": targets.phone.map(JSONValue.string) ?? .null])
    }

    // MARK: email

    private func sendMail(_ c: ProxyCaller, _ r: HTTPRequest) async throws -> HTTPResponse {
        guard let inbox = c.targets.inbox else { return Self.error(404, "No email inbox for this instance") }
        guard case .object(let fields)? = JSONValue(jsonBody: r.body) else { return Self.error(400, "body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { !Self.mailSendFields.contains($0) }) {
            return Self.error(400, "field \(unknown) is not one AgentMail's send takes")
        }
        if let wait = await emails.take(c.instance) { return Self.limited(wait, "this instance's emails an hour are used up") }
        let answer = try await mail(c, "POST", inbox: inbox, ["messages", "send"], body: r.body, operation: "proxy.send")
        if answer.status < 300 { await record(c, "EmailSent", "sent an email to \(Self.recipients(fields)) recipient(s)") }
        return Self.passed(answer)
    }

    private func listMail(_ c: ProxyCaller, _ r: HTTPRequest, _ list: String) async throws -> HTTPResponse {
        guard let inbox = c.targets.inbox else { return Self.error(404, "No email inbox for this instance") }
        if let unknown = r.query.keys.sorted().first(where: { !Self.mailListQuery.contains($0) }) {
            return Self.error(400, "query parameter \(unknown) is not one AgentMail documents")
        }
        let query = r.query.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return Self.passed(try await mail(c, "GET", inbox: inbox, [list], query: query, operation: "proxy.\(list)"))
    }

    private func message(_ c: ProxyCaller, _ r: HTTPRequest) async throws -> HTTPResponse {
        guard let inbox = c.targets.inbox else { return Self.error(404, "No email inbox for this instance") }
        let id = r.pathParameters["id"] ?? ""
        guard ProxyIDs.isMailID(id) else { return Self.error(400, "not a message id") }
        guard r.query.isEmpty else { return Self.error(400, "this route takes no query parameters") }
        if r.method == "PATCH" {
            guard case .object(let fields)? = JSONValue(jsonBody: r.body), fields.keys.allSatisfy(Self.mailPatchFields.contains) else {
                return Self.error(400, "body must be {\"add_labels\"?, \"remove_labels\"?}")
            }
            return Self.passed(try await mail(c, "PATCH", inbox: inbox, ["messages", id], body: r.body, operation: "proxy.label"))
        }
        return Self.passed(try await mail(c, "GET", inbox: inbox, ["messages", id], operation: "proxy.message"))
    }

    // MARK: sms

    private func sendText(_ c: ProxyCaller, _ r: HTTPRequest) async throws -> HTTPResponse {
        let targets = c.targets
        guard let phone = targets.phone else { return Self.error(404, "No phone number for this instance") }
        guard case .object(var fields)? = JSONValue(jsonBody: r.body), case .string? = fields["to"], case .string? = fields["text"] else {
            return Self.error(400, "body must be {\"to\", \"text\"}")
        }
        if let unknown = fields.keys.sorted().first(where: { !Self.smsSendFields.contains($0) }) {
            return Self.error(400, "field \(unknown) is not allowed: the number and profile are the instance's own")
        }
        if let wait = await texts.take(c.instance) { return Self.limited(wait, "this instance's texts an hour are used up") }
        fields["from"] = .string(phone)
        if let profile = targets.messagingProfileID { fields["messaging_profile_id"] = .string(profile) }
        let answer = try await telnyx(c, "POST", ["messages"], body: JSONValue.object(fields).canonicalData(), operation: "proxy.sms")
        if answer.status < 300 { await record(c, "SMSSent", "sent a text to 1 recipient") }
        return Self.passed(answer)
    }

    private func records(_ c: ProxyCaller, _ r: HTTPRequest) async throws -> HTTPResponse {
        guard let phone = c.targets.phone else { return Self.error(404, "No phone number for this instance") }
        if let unknown = r.query.keys.sorted().first(where: { !Self.recordQuery.contains($0) }) {
            return Self.error(400, "query parameter \(unknown) is not allowed here")
        }
        let query = r.query.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [("filter[cld]", phone)]
        return Self.passed(try await telnyx(c, "GET", ["detail_records"], query: query, operation: "proxy.records"))
    }

    /// One message, only when the instance's number is its `from` or one of its `to`; 404 when that
    /// cannot be told (fail closed: production passed what had no `from`).
    private func text(_ c: ProxyCaller, _ r: HTTPRequest) async throws -> HTTPResponse {
        guard let phone = c.targets.phone else { return Self.error(404, "No phone number for this instance") }
        let id = r.pathParameters["id"] ?? ""
        guard ProxyIDs.isTelnyxID(id), r.query.isEmpty else { return Self.error(400, "not a message id") }
        let answer = try await telnyx(c, "GET", ["messages", id], operation: "proxy.sms-message")
        guard answer.status < 300 else { return Self.passed(answer) }
        let data = JSONValue(jsonBody: answer.body)?["data"]
        let from = data?["from"]?["phone_number"]?.stringValue
        let to = data?["to"]?.arrayValue?.compactMap { $0["phone_number"]?.stringValue } ?? []
        guard from == phone || to.contains(phone) else { return Self.error(404, "Message not found") }
        return Self.passed(answer)
    }

    /// An AgentMail call on the caller's inbox, its time counted as the provider's.
    private func mail(_ c: ProxyCaller, _ method: String, inbox: String, _ rest: [String], query: [(String, String)] = [], body: Data? = nil,
                      operation: String) async throws -> Forwarded {
        try await c.upstream.time { try await services.forwardMail(method, inbox: inbox, rest, query: query, body: body, operation: operation) }
    }

    /// A Telnyx call, its time counted as the provider's.
    private func telnyx(_ c: ProxyCaller, _ method: String, _ path: [String], query: [(String, String)] = [], body: Data? = nil,
                        operation: String) async throws -> Forwarded {
        try await c.upstream.time { try await services.forwardTelnyx(method, path, query: query, body: body, operation: operation) }
    }

    // MARK: tools on first use

    private func provision(_ c: ProxyCaller, _ tool: ToolName) async throws -> HTTPResponse {
        guard c.declared.contains(tool) else { return Self.error(403, "the agent's template does not declare \(tool.rawValue)") }
        let key = tool == .email ? "email" : "phone"
        if let existing = try await own(c.instance, tool) { return Self.json([key: .string(existing), "provisioned": .bool(false)]) }
        // A number order completes in seconds: asked again until then, as the reconciler would.
        let deadline = clock.monotonic + .seconds(30)
        var result = try await services.provision(c.instance, tool: tool, ProvisionRequest(agent: c.agent, provisioning: .pool))
        while result.state != .ready, clock.monotonic < deadline {
            try await clock.sleep(for: .milliseconds(250))
            result = try await services.provision(c.instance, tool: tool, ProvisionRequest(agent: c.agent, provisioning: .pool))
        }
        await recent.forget(c.instance)
        guard result.state == .ready, let made = try await own(c.instance, tool) else {
            return Self.error(503, "\(tool.rawValue) is still being made; ask again shortly")
        }
        await record(c, "ToolProvisioned", "\(tool.rawValue) made on the runtime's first use")
        return Self.json([key: .string(made), "provisioned": .bool(true)])
    }

    private func unprovision(_ c: ProxyCaller, _ tool: ToolName) async throws -> HTTPResponse {
        let key = tool == .email ? "email" : "phone"
        guard let existing = try await own(c.instance, tool) else {
            return Self.json([key: .null, "unprovisioned": .bool(false), "reason": .string("not_provisioned")])
        }
        try await services.releaseForRuntime(c.instance, tool: tool, resourceID: existing)
        await recent.forget(c.instance)
        await record(c, "ToolReleased", "\(tool.rawValue) released at the runtime's request")
        return Self.json([key: .string(existing), "unprovisioned": .bool(true)])
    }

    private func own(_ instance: String, _ tool: ToolName) async throws -> String? {
        let targets = try await services.proxyTargets(instance)
        return tool == .email ? targets.inbox : targets.phone
    }

    // MARK: answers

    private func record(_ c: ProxyCaller, _ reason: String, _ message: String) async {
        _ = try? await db.query("INSERT INTO pool.events (kind, name, type, reason, message) VALUES ('Agent', $1, 'Normal', $2, $3)",
                                [c.agent, reason, "\(message) (through the services proxy, instance \(c.instance))"])
    }

    static func recipients(_ fields: [String: JSONValue]) -> Int {
        ["to", "cc", "bcc"].reduce(0) { count, key in
            switch fields[key] {
            case .string?: return count + 1
            case .array(let list)?: return count + list.count
            default: return count
            }
        }
    }

    static func passed(_ answer: Forwarded) -> HTTPResponse {
        HTTPResponse(status: answer.status, headers: [("Content-Type", answer.contentType)], body: answer.body)
    }

    static func error(_ status: Int, _ message: String) -> HTTPResponse { InstanceCalls.json(["error": .string(message)], status: status) }

    static func json(_ body: [String: JSONValue]) -> HTTPResponse { InstanceCalls.json(body) }

    static func limited(_ wait: Double, _ message: String) -> HTTPResponse {
        var response = error(429, message + "; retry in \(Int(wait.rounded(.up))) s")
        response.headers.append(("Retry-After", String(Int(wait.rounded(.up)))))
        return response
    }
}

/// The ids a runtime may name in a proxied path, by the providers' alphabets: nothing that could
/// leave its segment (`/`, `\`, `?`, `#`, `%`, controls, a dot segment).
enum ProxyIDs {
    /// AgentMail message ids look like `<...@agentmail.to>`.
    static func isMailID(_ id: String) -> Bool {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.@+=<>")
        return (1...512).contains(id.utf8.count) && !id.contains("..") && id.unicodeScalars.allSatisfy(allowed.contains)
    }

    /// Telnyx ids are UUIDs (letters, digits, `-`).
    static func isTelnyxID(_ id: String) -> Bool {
        let allowed = CharacterSet(charactersIn: "abcdefABCDEF0123456789-")
        return (1...64).contains(id.utf8.count) && id.unicodeScalars.allSatisfy(allowed.contains)
    }
}

/// The proxy's callers proved lately, for `ttl`: a read or send then costs one query (its tools)
/// instead of its credentials, its claim and its tools. A wrong token never hits (the kept secret is compared in constant time); a provision or release
/// forgets the instance (its inbox or number changed); a deleted agent's pair lapses within `ttl`.
actor CallerCache {
    let clock: any Clock
    let ttl: TimeInterval
    private var kept: [String: (caller: ServicesProxy.ProxyCaller, secret: String, until: Date)] = [:]

    init(clock: any Clock, ttl: TimeInterval = 5) {
        self.clock = clock
        self.ttl = ttl
    }

    func caller(_ instance: String, token: String) -> ServicesProxy.ProxyCaller? {
        guard let entry = kept[instance], entry.until > clock.now, ConstantTime.equal(token, entry.secret) else { return nil }
        return entry.caller
    }

    func keep(_ caller: ServicesProxy.ProxyCaller, token: String) {
        if kept.count > 10_000 { kept = kept.filter { $0.value.until > clock.now } }
        kept[caller.instance] = (caller, token, clock.now.addingTimeInterval(ttl))
    }

    func forget(_ instance: String) { kept[instance] = nil }
}
