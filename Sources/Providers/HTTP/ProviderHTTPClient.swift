import Foundation
import Sync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one HTTP client every provider uses, and the only layer that retries.
///
/// - Timeouts: `requestTimeout` bounds a whole call (connect, send, receive). FoundationNetworking
///   offers no separate connect timeout, so a refused or unreachable host fails within the same bound.
/// - Retries: only calls marked idempotent, plus 429s (the provider refused them before acting);
///   exponential backoff with full jitter, capped; all under a retry budget that keeps retries near
///   10% of calls. A `Retry-After` up to `maxRetryAfter` is slept through; a longer one blocks the
///   credential's `QuotaGate` and is thrown, so the caller defers its work to then (never dropped).
/// - Quota: every answer's `X-RateLimit-*` headers feed the gate; while it is blocked, calls fail
///   at once with `.rateLimited` and the time left, without a request.
/// - A per-provider limit on calls in flight (64: fifty claims at once each make several calls to
///   a provider that answers in half a second), and a circuit breaker per provider.
public final class ProviderHTTPClient: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var url: URL
        public var headers: [String: String]
        public var body: Data?
        /// Safe to send twice: GET, DELETE, PUT, and creates the provider dedupes by a key.
        public var idempotent: Bool
        /// A short name for metrics and logs: "projectCreate", "keys.create".
        public var operation: String
        /// Statuses returned as responses instead of errors (GHCR's 401 challenge).
        public var passthrough: Set<Int> = []
        /// This call's bound, when shorter than the client's (a runtime's provision: 75 s).
        public var timeout: Duration?

        public init(method: String, url: URL, headers: [String: String] = [:], body: Data? = nil, idempotent: Bool, operation: String,
                    passthrough: Set<Int> = []) {
            self.passthrough = passthrough
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
            self.idempotent = idempotent
            self.operation = operation
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    public let provider: String
    public let policy: RetryPolicy
    public let breaker: CircuitBreaker
    public let stats: ProviderStats
    /// The quota of this client's credential (Railway passes one per token instead).
    public let quota: QuotaGate
    let budget: RetryBudget
    let limiter: ConcurrencyLimiter
    let requestTimeout: Duration
    private let session: URLSession
    private let sleep: @Sendable (Duration) async -> Void
    /// Classifies a response the provider marks as failed with a 200 (Railway's GraphQL errors).
    public typealias Classifier = @Sendable (Response) -> ProviderError?

    public init(provider: String, policy: RetryPolicy = RetryPolicy(), breaker: CircuitBreaker = CircuitBreaker(),
                maxInFlight: Int = 64, requestTimeout: Duration = .seconds(15),
                sleep: @escaping @Sendable (Duration) async -> Void = { try? await SystemClock().sleep(for: $0) }) {
        self.provider = provider
        self.policy = policy
        self.breaker = breaker
        self.budget = RetryBudget(ratio: policy.budgetRatio, burst: policy.budgetBurst)
        self.limiter = ConcurrencyLimiter(limit: maxInFlight)
        self.requestTimeout = requestTimeout
        self.sleep = sleep
        self.stats = ProviderStats(provider: provider)
        self.quota = QuotaGate()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maxInFlight
        configuration.timeoutIntervalForRequest = Double(requestTimeout.components.seconds) + 1
        configuration.urlCache = nil
        self.session = URLSession(configuration: configuration)
    }

    /// Sends a request with this provider's retry, budget, limit and breaker. A 2xx comes back;
    /// anything else throws a classified `ProviderError`.
    public func send(_ request: Request, classify: Classifier? = nil, gate: QuotaGate? = nil) async throws(ProviderError) -> Response {
        let gate = gate ?? quota
        if let wait = gate.wait() {
            stats.record(request.operation, outcome: "deferred", latency: .zero)
            throw ProviderError(.rateLimited, provider: provider, message: "quota: waiting for the provider's limit to reset", retryAfter: wait)
        }
        guard breaker.allow() else {
            stats.record(request.operation, outcome: "breaker_open", latency: .zero)
            throw ProviderError(.breakerOpen, provider: provider, message: "circuit breaker open after repeated failures")
        }
        await limiter.acquire()
        defer { Task { await limiter.release() } }
        budget.recordAttempt()
        var attempt = 0
        while true {
            // A cancelled caller (the process shutting down, an audit stopped) sends nothing more:
            // a listing of 400 pages stops at the page it is on. Not a sign of an unhealthy
            // provider, so not the breaker's business.
            if Task.isCancelled {
                stats.record(request.operation, outcome: "cancelled", latency: .zero)
                throw ProviderError(.retryable, provider: provider, message: "cancelled before sending: the caller stopped")
            }
            let started = ContinuousClock.now
            let result = await perform(request, classify: classify, gate: gate)
            let latency = ContinuousClock.now - started
            switch result {
            case .success(let response):
                breaker.recordSuccess()
                stats.record(request.operation, outcome: "ok", latency: latency)
                return response
            case .failure(let error):
                stats.record(request.operation, outcome: error.kind.rawValue, latency: latency)
                if error.kind == .rateLimited, let wait = error.retryAfter { gate.block(for: wait) }
                // Only signs of an unhealthy provider count against the breaker.
                if error.kind == .retryable { breaker.recordFailure() } else { breaker.recordSuccess() }
                guard attempt + 1 < policy.maxAttempts,
                      let delay = retryDelay(for: error, request: request, attempt: attempt),
                      budget.tryRetry() else { throw error }
                stats.recordRetry()
                await sleep(delay)
                attempt += 1
                if error.kind == .retryable, !breaker.allow() {
                    throw ProviderError(.breakerOpen, provider: provider, message: "circuit breaker opened: \(error.message)")
                }
            }
        }
    }

    private func retryDelay(for error: ProviderError, request: Request, attempt: Int) -> Duration? {
        switch error.kind {
        case .rateLimited:
            let wait = error.retryAfter ?? policy.backoff(attempt: attempt)
            return wait <= policy.maxRetryAfter ? wait : nil
        case .retryable where request.idempotent:
            return policy.backoff(attempt: attempt)
        default:
            return nil
        }
    }

    private func perform(_ request: Request, classify: Classifier?, gate: QuotaGate) async -> Result<Response, ProviderError> {
        var urlRequest = URLRequest(url: request.url, timeoutInterval: Double((request.timeout ?? requestTimeout).components.seconds))
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if request.body != nil, request.headers["Content-Type"] == nil {
            urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let urlResponse: URLResponse
        do {
            (data, urlResponse) = try await session.shieldedData(for: urlRequest)
        } catch {
            let message = (error as? URLError).map { "\($0.code == .timedOut ? "timed out" : "connection failed") (\($0.code.rawValue))" }
                ?? "request failed"
            return .failure(ProviderError(.retryable, provider: provider, message: message))
        }
        let http = urlResponse as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http?.allHeaderFields ?? [:] { headers[String(describing: k).lowercased()] = String(describing: v) }
        let response = Response(status: http?.statusCode ?? 0, headers: headers, body: data)
        gate.observe(headers: headers)
        if (200..<300).contains(response.status) || request.passthrough.contains(response.status) {
            if let error = classify?(response) { return .failure(error) }
            return .success(response)
        }
        return .failure(Self.error(for: response, provider: provider))
    }

    /// Classifies a non-2xx response, with the provider's own message when its body has one.
    static func error(for response: Response, provider: String) -> ProviderError {
        var kind = ProviderError.kind(forStatus: response.status)
        let isJSON = response.header("content-type")?.contains("json") ?? false
        // A gateway's HTML page (Cloudflare's 403) is not the provider's verdict: try again later.
        if !isJSON && response.status == 403 { kind = .retryable }
        let message = ProviderMessage.extract(response.body) ?? "HTTP \(response.status)"
        return ProviderError(kind, provider: provider, message: message, status: response.status,
                             retryAfter: RetryAfter.parse(response.header("retry-after")))
    }
}

/// Reads the human message out of the error bodies of the six providers.
enum ProviderMessage {
    static func extract(_ body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        if let errors = object["errors"] as? [[String: Any]], let first = errors.first {
            return (first["message"] as? String) ?? (first["detail"] as? String) ?? (first["title"] as? String)
        }
        if let error = object["error"] as? [String: Any] { return error["message"] as? String }
        if let error = object["error"] as? String { return error }
        return object["message"] as? String
    }
}

/// `Retry-After` as seconds (possibly fractional) or an HTTP date.
public enum RetryAfter {
    public static func parse(_ value: String?) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }
}
