import Foundation

/// Railway's status of a project's latest deployment (its `DeploymentStatus`), or `missing` when
/// the project itself is gone. An open set, as Railway owns it: a status it adds later is kept as it
/// came and counts as a deploy in progress. Parsed where Railway's answer is read; compared as
/// this type everywhere else.
public struct DeployStatus: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let building = DeployStatus(rawValue: "BUILDING")
    public static let deploying = DeployStatus(rawValue: "DEPLOYING")
    public static let success = DeployStatus(rawValue: "SUCCESS")
    public static let failed = DeployStatus(rawValue: "FAILED")
    public static let crashed = DeployStatus(rawValue: "CRASHED")
    public static let removed = DeployStatus(rawValue: "REMOVED")
    /// App Sleeping: it wakes on a request (the health ping is one).
    public static let sleeping = DeployStatus(rawValue: "SLEEPING")
    /// Not deployed (a newer one superseded it, or nothing changed): the previous one runs.
    public static let skipped = DeployStatus(rawValue: "SKIPPED")
    /// Ours: the project is gone.
    public static let missing = DeployStatus(rawValue: "MISSING")

    /// The deployment ended without a service running: the instance failed (or was lost).
    public var isFailure: Bool { self == .failed || self == .crashed || self == .removed || self == .missing }
    /// A deployment runs (or wakes on a request): whether it is ready, the runtime's health says.
    public var isRunning: Bool { self == .success || self == .sleeping || self == .skipped }
    /// Stays as it is until something happens (an event, a resync): not polled.
    public var isSettled: Bool { isFailure || isRunning }

    public var description: String { rawValue }
    /// `DeployFailed`, `DeployCrashed`: the reason an instance failed with it.
    public var failureReason: String { "Deploy" + rawValue.capitalized }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
