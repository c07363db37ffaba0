import Foundation
import HTTPServer

/// The simulated cloud: fakes of Railway, GHCR, OpenRouter, Telnyx, AgentMail, Bankr and the agent
/// runtimes on one loopback server, each under its own path prefix and speaking its real wire format.
///
/// Started by `convos-controller simulate` and in-process by `serve --simulate` and the tests.
/// `GET /_sim/ledger` lists every live external resource and the ordered create/delete events;
/// `POST /_sim/faults` injects faults.
public final class Simulator: Sendable {
    let cloud: SimCloud
    let faults = FaultState()
    let server: HTTPServer

    public var port: Int { server.port }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Base URLs for the provider clients.
    public var railwayURL: String { baseURL + "/railway/graphql/v2" }
    public var ghcrURL: String { baseURL + "/ghcr" }
    public var openRouterURL: String { baseURL + "/openrouter/api/v1" }
    public var telnyxURL: String { baseURL + "/telnyx/v2" }
    public var agentMailURL: String { baseURL + "/agentmail" }
    public var bankrURL: String { baseURL + "/bankr" }

    public init(host: String = "127.0.0.1", port: Int = 0, options: SimulatorOptions = SimulatorOptions(), faults initial: Faults = Faults()) async throws {
        let cloud = SimCloud(options: options)
        self.projectCreateInterval = options.projectCreateInterval
        let faults = self.faults
        faults.set(initial)
        var configuration = HTTPServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.threads = 2
        self.cloud = cloud
        self.server = try HTTPServer(configuration: configuration, responder: Self.router(cloud: cloud, faults: faults))
        await cloud.setBaseURL("http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(server.port)")
    }

    public func shutdown() async { await server.shutdown() }

    public func setFaults(_ f: Faults) { faults.set(f) }
    public var currentFaults: Faults { faults.current }
    public func ledger() async -> [LedgerEntry] { await cloud.ledger() }
    public func events() async -> [SimEvent] { await cloud.events }
    public func deployments() async -> [DeploymentCount] { await cloud.deploymentCounts() }
    /// Railway requests by operation, webhooks sent and lost, rules registered.
    public func stats() async -> SimStats { await cloud.stats() }
    /// Railway's per-token `projectCreate` interval of the profile it started with.
    public let projectCreateInterval: Duration
    /// Changes latencies while running (a runtime that never turns ready, a slower deploy).
    public func setOptions(_ options: SimulatorOptions) async { await cloud.setOptions(options) }
    public func options() async -> SimulatorOptions { await cloud.options }
    /// The next `count` runtime provisions fail with a 500; `dirty`: each leaves its runtime holding a conversation.
    public func failProvisions(_ count: Int, dirty: Bool = false) async { await cloud.failProvisions(count, dirty: dirty) }
    /// Points `repository:tag` at a new digest, as a push would; returns it.
    public func moveTag(repository: String, tag: String, image: SimImage = SimImage()) async -> String {
        await cloud.moveTag(repository: repository, tag: tag, image: image)
    }

    static func router(cloud: SimCloud, faults: FaultState) -> Router {
        var r = Router()
        r.add("POST", "/railway/graphql/v2") { q in await cloud.railway(body: q.body, authorization: q.header("authorization")).http }
        r.add("GET", "/ghcr/token") { _ in await cloud.registryToken().http }
        r.add("GET", "/ghcr/v2/:owner/:name/manifests/:ref") { q in
            await cloud.manifest(repository: "\(q.pathParameters["owner"]!)/\(q.pathParameters["name"]!)",
                                 reference: q.pathParameters["ref"]!, authorization: q.header("authorization")).http
        }
        for method in ["GET", "POST"] {
            r.add(method, "/openrouter/api/v1/keys") { q in
                await cloud.openRouter(method: q.method, hash: nil, query: q.query, body: q.body, authorization: q.header("authorization")).http
            }
        }
        for method in ["GET", "PATCH", "DELETE"] {
            r.add(method, "/openrouter/api/v1/keys/:hash") { q in
                await cloud.openRouter(method: q.method, hash: q.pathParameters["hash"], query: q.query, body: q.body,
                                       authorization: q.header("authorization")).http
            }
        }
        for method in ["GET", "POST", "PATCH", "DELETE"] {
            r.add(method, "/telnyx/v2/:collection") { q in
                await cloud.telnyx(method: q.method, path: [q.pathParameters["collection"]!], query: q.query, body: q.body,
                                   authorization: q.header("authorization")).http
            }
            r.add(method, "/telnyx/v2/:collection/:id") { q in
                await cloud.telnyx(method: q.method, path: [q.pathParameters["collection"]!, q.pathParameters["id"]!], query: q.query,
                                   body: q.body, authorization: q.header("authorization")).http
            }
            r.add(method, "/telnyx/v2/:collection/:id/:sub") { q in
                await cloud.telnyx(method: q.method, path: [q.pathParameters["collection"]!, q.pathParameters["id"]!, q.pathParameters["sub"]!],
                                   query: q.query, body: q.body, authorization: q.header("authorization")).http
            }
        }
        for method in ["GET", "POST"] {
            r.add(method, "/agentmail/v0/inboxes") { q in
                await cloud.agentMail(method: q.method, inboxID: nil, query: q.query, body: q.body, authorization: q.header("authorization")).http
            }
        }
        for method in ["GET", "PATCH", "DELETE"] {
            r.add(method, "/agentmail/v0/inboxes/:id") { q in
                await cloud.agentMail(method: q.method, inboxID: q.pathParameters["id"], query: q.query, body: q.body,
                                      authorization: q.header("authorization")).http
            }
        }
        for (method, tail) in [("POST", "/messages/send"), ("GET", "/messages"), ("GET", "/threads"), ("GET", "/messages/:message"),
                               ("PATCH", "/messages/:message")] {
            r.add(method, "/agentmail/v0/inboxes/:id" + tail) { q in
                let rest = tail.split(separator: "/").map { $0 == ":message" ? q.pathParameters["message"]! : String($0) }
                return await cloud.agentMailMessages(method: q.method, inbox: q.pathParameters["id"]!, rest: rest, query: q.query, body: q.body,
                                                     authorization: q.header("authorization")).http
            }
        }
        for method in ["GET", "POST"] {
            r.add(method, "/agentmail/v0/webhooks") { q in await cloud.agentMailWebhooks(method: q.method, body: q.body, authorization: q.header("authorization")).http }
        }
        r.add("GET", "/bankr/wallet/me") { q in await cloud.bankrWallet(apiKey: q.header("x-api-key")).http }
        for method in ["GET", "POST"] {
            for area in ["pool", "convos"] {
                r.add(method, "/runtime/:id/\(area)/:action") { q in
                    await cloud.runtime(serviceID: q.pathParameters["id"]!, method: q.method, area: area, action: q.pathParameters["action"]!,
                                        body: q.body, authorization: q.header("authorization")).http
                }
            }
        }
        r.add("GET", "/_sim/runtime/:id") { q in await cloud.runtimeRecord(serviceID: q.pathParameters["id"]!).http }
        r.add("POST", "/_sim/runtime/:id") { q in await cloud.setRuntime(serviceID: q.pathParameters["id"]!, body: q.body).http }
        r.add("POST", "/_sim/agentmail/inbound") { q in await cloud.inboundMail(q.body).http }
        r.add("POST", "/_sim/telnyx/inbound") { q in await cloud.inboundText(q.body).http }
        r.add("GET", "/_sim/ledger") { _ in await cloud.ledgerResponse().http }
        r.add("GET", "/_sim/stats") { _ in .json(await cloud.stats()) }
        // Benchmarks: a push of a new image under a tag (`{"repository", "tag", "version"?, "crashes"?, "losesConversation"?}`).
        r.add("POST", "/_sim/registry/move") { q in
            guard let body = jsonObject(q.body), let repository = body["repository"] as? String, let tag = body["tag"] as? String else {
                throw HTTPError.badRequest("body must be {\"repository\", \"tag\", \"version\"?}")
            }
            let image = SimImage(version: body["version"] as? String ?? "sim-1", crashes: body["crashes"] as? Bool ?? false,
                                 losesConversation: body["losesConversation"] as? Bool ?? false)
            return .json(["digest": await cloud.moveTag(repository: repository, tag: tag, image: image)])
        }
        r.add("POST", "/_sim/railway/bulk") { q in
            guard let body = jsonObject(q.body), let names = body["names"] as? [String] else {
                throw HTTPError.badRequest("body must be {\"names\": [...], \"image\"?: \"...\", \"idle\"?: true, \"keys\"?: true}")
            }
            return .json(await cloud.bulkProjects(names, image: body["image"] as? String, idle: body["idle"] as? Bool ?? false,
                                                     keys: body["keys"] as? Bool ?? false))
        }
        r.add("GET", "/_sim/faults") { _ in .json(faults.current) }
        r.add("POST", "/_sim/faults") { q in
            guard let f = try? JSONDecoder().decode(Faults.self, from: q.body) else {
                throw HTTPError.badRequest("faults must be a JSON object like {\"errorRate\":0.3}")
            }
            let problems = f.validate()
            guard problems.isEmpty else {
                throw HTTPError.badRequest(problems[0], details: problems.map { p in
                    .init(path: String(p.prefix { $0 != ":" }), message: String(p.drop { $0 != ":" }.dropFirst(2)))
                })
            }
            faults.set(f)
            return .json(f)
        }
        r.middleware = { request, pattern, next in
            let segments = pattern.split(separator: "/")
            guard let provider = segments.first.map(String.init), !["_sim", "runtime"].contains(provider) else {
                return try await next(request)
            }
            let mutating = !["GET", "HEAD"].contains(request.method)
            // The profile's latency for this provider, then any injected fault.
            let profile = await cloud.latency(provider)
            if profile > .zero { try? await cloud.clock.sleep(for: profile) }
            switch faults.decide(provider: provider, mutating: mutating) {
            case .pass(let latency):
                if latency > 0 { try? await cloud.clock.sleep(for: .milliseconds(latency)) }
                return try await next(request)
            case .error(let latency):
                if latency > 0 { try? await cloud.clock.sleep(for: .milliseconds(latency)) }
                return SimResponse.json(["errors": [["message": "injected fault: service unavailable"]]], status: 503).http
            case .rateLimit(let latency, let retryAfter):
                if latency > 0 { try? await cloud.clock.sleep(for: .milliseconds(latency)) }
                return SimResponse.json(["errors": [["message": "Rate limit exceeded"]]], status: 429,
                                        headers: [("Retry-After", String(retryAfter)), ("X-RateLimit-Remaining", "0")]).http
            case .timeout(let ms):
                try? await cloud.clock.sleep(for: .milliseconds(ms))
                return SimResponse(status: 504, headers: [("Content-Type", "text/html")], body: Data("<html>gateway timeout</html>".utf8)).http
            case .loseResponse(let latency):
                if latency > 0 { try? await cloud.clock.sleep(for: .milliseconds(latency)) }
                // The effect happens; the answer is lost on the way back.
                _ = try await next(request)
                return SimResponse(status: 502, headers: [("Content-Type", "text/html")], body: Data("<html>bad gateway</html>".utf8)).http
            }
        }
        return r
    }
}

extension SimResponse {
    var http: HTTPResponse { HTTPResponse(status: status, headers: headers, body: body) }
}
