import Foundation
import Providers
import Resources

/// The seed's services API (CONTRACT.md section 5) as the reconciler calls it: in process by
/// default (`InProcessServices`), or over HTTP when `SERVICES_URL` is set (`RemoteServices`).
public protocol ServicesClient: Sendable {
    /// The whole status map in one call: one Railway query and one SQL query, whatever the count.
    func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch
    /// A Railway project for the instance, running the image digest. Idempotent.
    func createInstance(_ instanceID: String, image: String) async throws -> InstanceServiceStatus
    /// Provisions one tool for the instance. Idempotent; `pending` means "ask again later".
    func provision(_ instanceID: String, tool: ToolName, options: ToolOptions) async throws -> ToolStatus
    /// OpenRouter, AgentMail, Telnyx, Bankr, then the Railway project. Idempotent; resumes where it stopped.
    func teardown(_ instanceID: String) async throws
}

public struct ToolStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case creating, pending, ready, deleting, deleted, failed }
    public var state: State
    public var error: String?
}

public struct InstanceServiceStatus: Codable, Sendable, Equatable {
    /// `creating`, `ready`, `deleting`, `deleted`, or `missing` when the services side has no row.
    public var state: String
    /// Railway's `DeploymentStatus` of the latest deployment, or `MISSING` when the project is gone.
    public var deployStatus: String?
    public var url: String?
    public var tools: [String: ToolStatus]
}

public struct StatusBatch: Codable, Sendable, Equatable {
    public var statuses: [String: InstanceServiceStatus]
    /// Projects that carry our naming but have no services row: left by a crash or by hand.
    public var orphans: [String]?
}

/// Why the services layer refused or failed, with the HTTP status its API answers.
public struct ServicesError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var description: String { message }

    static func notFound(_ m: String) -> ServicesError { ServicesError(status: 404, code: "NotFound", message: m) }
    static func invalid(_ m: String) -> ServicesError { ServicesError(status: 400, code: "Invalid", message: m) }
    static func conflict(_ m: String) -> ServicesError { ServicesError(status: 409, code: "Conflict", message: m) }
    static func provider(_ e: ProviderError) -> ServicesError {
        let status: Int
        switch e.kind {
        case .notConfigured: status = 503
        case .unauthorized: status = 502
        case .terminal, .conflict, .notFound: status = 502
        case .retryable, .rateLimited, .breakerOpen: status = 503
        }
        return ServicesError(status: status, code: e.kind == .notConfigured ? "ProviderNotConfigured" : "ProviderError", message: e.description)
    }
}

/// Instance ids: lowercase letters and digits, 6 to 32 (the database holds the same rule).
func validInstanceID(_ id: String) -> Bool {
    (6...32).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
}
