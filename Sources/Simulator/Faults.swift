import Foundation

/// Faults the simulated cloud injects into provider calls (never into `/_sim` or the runtimes).
/// Set by flags of `simulate` and by `POST /_sim/faults`.
public struct Faults: Codable, Sendable, Equatable {
    /// Share of calls answered 503.
    public var errorRate = 0.0
    /// Added to every call.
    public var latencyMs = 0
    /// Every Nth call is answered 429 with `Retry-After`.
    public var rateLimitEvery = 0
    public var retryAfterSeconds = 1.0
    /// Share of calls that hang for `timeoutMs` and then fail, as a dead upstream does.
    public var timeoutRate = 0.0
    public var timeoutMs = 30_000
    /// Share of mutating calls whose effect happens but whose answer is lost (502).
    public var lostResponseRate = 0.0
    /// The next N mutating calls lose their answers; deterministic, for tests.
    public var lostResponseNext = 0
    /// Providers the faults apply to; nil or empty means all.
    public var providers: [String]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case errorRate, latencyMs, rateLimitEvery, retryAfterSeconds, timeoutRate, timeoutMs, lostResponseRate, lostResponseNext, providers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        errorRate = try c.decodeIfPresent(Double.self, forKey: .errorRate) ?? 0
        latencyMs = try c.decodeIfPresent(Int.self, forKey: .latencyMs) ?? 0
        rateLimitEvery = try c.decodeIfPresent(Int.self, forKey: .rateLimitEvery) ?? 0
        retryAfterSeconds = try c.decodeIfPresent(Double.self, forKey: .retryAfterSeconds) ?? 1
        timeoutRate = try c.decodeIfPresent(Double.self, forKey: .timeoutRate) ?? 0
        timeoutMs = try c.decodeIfPresent(Int.self, forKey: .timeoutMs) ?? 30_000
        lostResponseRate = try c.decodeIfPresent(Double.self, forKey: .lostResponseRate) ?? 0
        lostResponseNext = try c.decodeIfPresent(Int.self, forKey: .lostResponseNext) ?? 0
        providers = try c.decodeIfPresent([String].self, forKey: .providers)
    }

    /// Problems with the values, by field.
    public func validate() -> [String] {
        var problems: [String] = []
        for (name, rate) in [("errorRate", errorRate), ("timeoutRate", timeoutRate), ("lostResponseRate", lostResponseRate)]
            where !(0...1).contains(rate) { problems.append("\(name): must be between 0 and 1") }
        if latencyMs < 0 || latencyMs > 60_000 { problems.append("latencyMs: must be between 0 and 60000") }
        if rateLimitEvery < 0 { problems.append("rateLimitEvery: must be >= 0") }
        if lostResponseNext < 0 { problems.append("lostResponseNext: must be >= 0") }
        if retryAfterSeconds < 0 { problems.append("retryAfterSeconds: must be >= 0") }
        if timeoutMs < 0 || timeoutMs > 120_000 { problems.append("timeoutMs: must be between 0 and 120000") }
        return problems
    }

    func applies(to provider: String) -> Bool { providers?.isEmpty ?? true || providers!.contains(provider) }
}

/// The decision for one call, taken under the fault state's lock.
enum FaultDecision {
    case pass(latency: Int)
    case error(latency: Int)
    case rateLimit(latency: Int, retryAfter: Double)
    case timeout(ms: Int)
    case loseResponse(latency: Int)
}

/// Fault settings and the counters that "every Nth" and "next N" need.
final class FaultState: @unchecked Sendable {
    private let lock = NSLock()
    private var faults = Faults()
    private var calls = 0

    var current: Faults { lock.withLock { faults } }
    func set(_ f: Faults) { lock.withLock { faults = f; calls = 0 } }

    func decide(provider: String, mutating: Bool) -> FaultDecision {
        lock.withLock {
            let f = faults
            guard f.applies(to: provider) else { return .pass(latency: 0) }
            calls += 1
            if f.rateLimitEvery > 0, calls % f.rateLimitEvery == 0 { return .rateLimit(latency: f.latencyMs, retryAfter: f.retryAfterSeconds) }
            if f.timeoutRate > 0, Double.random(in: 0..<1) < f.timeoutRate { return .timeout(ms: f.timeoutMs) }
            if f.errorRate > 0, Double.random(in: 0..<1) < f.errorRate { return .error(latency: f.latencyMs) }
            if mutating, faults.lostResponseNext > 0 { faults.lostResponseNext -= 1; return .loseResponse(latency: f.latencyMs) }
            if mutating, f.lostResponseRate > 0, Double.random(in: 0..<1) < f.lostResponseRate { return .loseResponse(latency: f.latencyMs) }
            return .pass(latency: f.latencyMs)
        }
    }
}
