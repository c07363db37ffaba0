import Foundation

/// A Pool's `spec.rollout`: how a new digest reaches its claimed agents (idle instances are always
/// replaced). Like a Deployment's rolling update: `maxUnavailable` agents upgrading at once, the
/// first `canary` ones proven for a minute before the rest, `Manual` waiting for `rollout resume`.
public struct RolloutPolicy: Codable, Sendable, Equatable {
    public enum Claimed: String, WireEnum { case auto = "Auto", manual = "Manual", never = "Never" }

    public var claimed: Claimed?
    public var maxUnavailable: MaxUnavailable?
    public var canary: Int?

    /// Defaults: `Auto`, 25% (as a Deployment's), no canary.
    public static let defaultMaxUnavailable = MaxUnavailable.percent(25)
    public var policy: Claimed { claimed ?? .auto }
    public var canaries: Int { canary ?? 0 }

    public init(claimed: Claimed? = nil, maxUnavailable: MaxUnavailable? = nil, canary: Int? = nil) {
        self.claimed = claimed
        self.maxUnavailable = maxUnavailable
        self.canary = canary
    }

    /// How many of `total` claimed agents may upgrade at once: the count, or the percentage rounded
    /// down, never less than one (a rollout always moves).
    public func unavailable(of total: Int) -> Int {
        switch maxUnavailable ?? Self.defaultMaxUnavailable {
        case .count(let n): return max(1, n)
        case .percent(let p): return max(1, total * p / 100)
        }
    }

    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        switch maxUnavailable {
        case .count(let n)?: errors += Check.range(n, 1...10_000, at: path + ".maxUnavailable")
        case .percent(let p)?: errors += Check.range(p, 1...100, at: path + ".maxUnavailable")
        case nil: break
        }
        if let canary { errors += Check.range(canary, 0...1000, at: path + ".canary") }
        return errors
    }
}

/// `maxUnavailable`: a count (`5`) or a percentage of the claimed agents (`"10%"`).
public enum MaxUnavailable: Codable, Sendable, Equatable {
    case count(Int)
    case percent(Int)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { self = .count(n); return }
        let text = try c.decode(String.self)
        guard text.hasSuffix("%"), let p = Int(text.dropLast()) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "must be a count like 5 or a percentage like \"10%\"")
        }
        self = .percent(p)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .count(let n): try c.encode(n)
        case .percent(let p): try c.encode("\(p)%")
        }
    }
}

/// A Pool's `status.rollout` (CONTRACT.md section 3): while claimed agents are behind its digest.
public struct RolloutStatus: Codable, Sendable, Equatable {
    public enum Phase: String, WireEnum { case progressing = "Progressing", complete = "Complete", halted = "Halted" }
    public var targetDigest: String
    public var targetVersion: String?
    public var previousDigest: String?
    public var total: Int
    public var updated: Int
    public var upgrading: Int
    public var failed: Int
    public var paused: Bool
    public var phase: Phase
    public var startedAt: Date
    public init(targetDigest: String, targetVersion: String?, previousDigest: String?, total: Int, updated: Int, upgrading: Int,
                failed: Int, paused: Bool, phase: Phase, startedAt: Date) {
        self.targetDigest = targetDigest
        self.targetVersion = targetVersion
        self.previousDigest = previousDigest
        self.total = total
        self.updated = updated
        self.upgrading = upgrading
        self.failed = failed
        self.paused = paused
        self.phase = phase
        self.startedAt = startedAt
    }
}

/// A pool's rollout as the controller keeps it (`pool.rollouts`): the digest claimed agents move
/// to, where they came from, and what an operator said (pause, undo) or a failure did (halt).
public struct RolloutView: Sendable, Equatable {
    public var targetDigest: String
    public var previousDigest: String?
    public var startedAt: Date
    public var paused: Bool
    /// The agent whose upgrade failed, and why: nothing more is upgraded until `resume`.
    public var haltedAgent: String?
    public var haltedError: String?
    /// `rollout undo`: upgraded agents go back to `previousDigest`.
    public var undo: Bool
    public init(targetDigest: String, previousDigest: String?, startedAt: Date, paused: Bool = false, haltedAgent: String? = nil,
                haltedError: String? = nil, undo: Bool = false) {
        self.targetDigest = targetDigest
        self.previousDigest = previousDigest
        self.startedAt = startedAt
        self.paused = paused
        self.haltedAgent = haltedAgent
        self.haltedError = haltedError
        self.undo = undo
    }
    public var halted: Bool { haltedAgent != nil }
    /// The digest agents move to now: the target, or the previous one under `undo`.
    public var goal: String? { undo ? previousDigest : targetDigest }
}

/// An instance's upgrade in flight: moving to a digest, or back after a failure.
public enum UpgradePhase: String, WireEnum { case upgrading, rollingBack }
