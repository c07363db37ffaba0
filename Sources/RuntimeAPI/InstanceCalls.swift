import Foundation
import HTTPServer
import Postgres
import Resources
import Services
import Store
import Sync
import Telemetry

/// Who called a self-service route: the instance its credentials proved, and what holds it.
struct Caller: Sendable {
    let instance: String
    /// The agent bound to it; nil when it is not claimed.
    let agent: String?
    let pool: String
    let template: AgentTemplateSpec?
    /// The request body, the credentials taken out.
    let body: [String: JSONValue]
}

/// A caller proved by its credentials, or the answer that refuses it.
enum Authenticated: Sendable {
    case caller(Caller)
    case refused(HTTPResponse)
}

/// Low-trust instance credentials (CONTRACT.md section 8): today's runtime shows its token on a
/// public page, so a pair `{instanceId, gatewayToken}` proves little. It is compared in constant
/// time; a wrong or unknown pair is 403 and changes nothing; each instance gets `perMinute` calls
/// (429 with `Retry-After` beyond); every call is counted by route and outcome, and recorded as an
/// event on the agent by the route. Errors take today's pool's shape, `{"error": "a sentence"}`.
struct InstanceCalls: Sendable {
    let db: PostgresPool
    let services: InProcessServices
    let metrics: Metrics
    let limiter: CallLimiter

    /// The caller, or the answer that refuses it.
    func authenticate(_ request: HTTPRequest, route: String, claimedOnly: Bool) async throws -> Authenticated {
        guard case .object(var body)? = JSONValue(jsonBody: request.body) else {
            return .refused(refuse(route, "invalid", 400, "body must be a JSON object with instanceId and gatewayToken"))
        }
        guard case .string(let instance)? = body["instanceId"], !instance.isEmpty,
              case .string(let token)? = body["gatewayToken"], !token.isEmpty else {
            return .refused(refuse(route, "invalid", 400, "instanceId and gatewayToken are required"))
        }
        body["gatewayToken"] = nil
        guard let secret = try await services.runtimeSecret(instance), ConstantTime.equal(token, secret) else {
            return .refused(refuse(route, "forbidden", 403, "Invalid credentials"))
        }
        if let wait = await limiter.take(instance) {
            var response = refuse(route, "limited", 429, "too many calls from this instance; retry in \(Int(wait.rounded(.up))) s")
            response.headers.append(("Retry-After", String(Int(wait.rounded(.up)))))
            return .refused(response)
        }
        let row = try await db.query("""
            SELECT i.pool, i.state, i.agent, t.spec AS template_spec FROM pool.instances i
            LEFT JOIN pool.agents a ON a.name = i.agent LEFT JOIN pool.agent_templates t ON t.name = a.template
            WHERE i.instance_id = $1
            """, [instance]).first
        let claimed = try row?.decode("state", as: String.self) == InstanceState.claimed.rawValue
        let agent: String? = claimed ? try row?.decode("agent") : nil
        if claimedOnly && agent == nil {
            return .refused(refuse(route, "unclaimed", 403, "instance \(instance) is not claimed: only self-info is allowed"))
        }
        let template = try row?.decode("template_spec", as: JSONText?.self).flatMap { try? JSONDecoder().decode(AgentTemplateSpec.self, from: $0.data) }
        return .caller(Caller(instance: instance, agent: agent, pool: try row?.decode("pool") ?? "", template: template, body: body))
    }

    /// A refusal, counted.
    func refuse(_ route: String, _ outcome: String, _ status: Int, _ message: String, extra: [String: JSONValue] = [:]) -> HTTPResponse {
        count(route, outcome)
        return Self.json(extra.merging(["error": .string(message)]) { _, new in new }, status: status)
    }

    /// An answer, counted, with its event on the agent (or the instance when it is not claimed).
    func answer(_ caller: Caller, route: String, reason: String, message: String, _ body: [String: JSONValue], status: Int = 200) async -> HTTPResponse {
        await record(caller, reason: reason, message: message)
        count(route, "ok")
        return Self.json(body, status: status)
    }

    /// The event of one call; no secret is ever part of `message`.
    func record(_ caller: Caller, reason: String, message: String, type: String = "Normal") async {
        let (kind, name) = caller.agent.map { ("Agent", $0) } ?? ("Instance", caller.instance)
        _ = try? await db.query("INSERT INTO pool.events (kind, name, type, reason, message) VALUES ($1, $2, $3, $4, $5)",
                                [kind, name, type, reason, "\(message) (asked by its runtime, instance \(caller.instance))"])
    }

    func count(_ route: String, _ outcome: String) {
        metrics.increment("convos_runtime_calls_total", ["route": route, "outcome": outcome])
    }

    static func json(_ body: [String: JSONValue], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: JSONValue.object(body).canonicalData())
    }
}

/// Calls per instance per window, in this replica: a token bucket each, refilled continuously
/// (`capacity` calls a `window`).
actor CallLimiter {
    let capacity: Double
    let window: TimeInterval
    let clock: any Clock
    private var buckets: [String: (tokens: Double, at: Date)] = [:]

    init(capacity: Int, window: TimeInterval = 60, clock: any Clock) {
        self.capacity = Double(capacity)
        self.window = window
        self.clock = clock
    }

    /// Nil when the call may go; else the seconds until it may.
    func take(_ instance: String) -> Double? {
        let now = clock.now
        var bucket = buckets[instance] ?? (capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + now.timeIntervalSince(bucket.at) * capacity / window)
        bucket.at = now
        defer { buckets[instance] = bucket }
        // Buckets full again are forgotten: the map holds only instances that called lately.
        if buckets.count > 10_000 { buckets = buckets.filter { $0.value.tokens < capacity } }
        guard bucket.tokens >= 1 else { return max(1, (1 - bucket.tokens) * window / capacity) }
        bucket.tokens -= 1
        return nil
    }
}
