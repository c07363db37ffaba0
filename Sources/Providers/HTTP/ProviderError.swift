/// A provider call that failed, classified so callers act on the class, never on strings.
/// Messages come from the provider's own error text and status; request headers (credentials)
/// are never part of them.
public struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// Worth retrying later: 5xx, timeouts, connection failures, non-JSON gateway pages.
        case retryable
        /// 429, or a quota used up; `retryAfter` says when, if the provider did.
        case rateLimited
        /// The credential may not make this kind of resource again yet (Railway's "only one
        /// project per 30 s"); other calls, and other credentials, may go on. Never retried in place.
        case paced
        /// The resource does not exist (404, "Project not found").
        case notFound
        /// The resource exists or is in use (409, duplicate).
        case conflict
        /// The request is wrong and will stay wrong (other 4xx, invalid responses).
        case terminal
        /// 401/403: credentials missing, wrong or without access.
        case unauthorized
        /// A plan limit of the provider (AgentMail's 403 `limit_exceeded`): no retry fixes it
        /// until the plan changes.
        case limitExceeded
        /// The breaker is open: the call was not made.
        case breakerOpen
        /// No credentials configured for this provider.
        case notConfigured
    }

    public var kind: Kind
    public var provider: String
    public var message: String
    public var status: Int?
    public var retryAfter: Duration?

    public init(_ kind: Kind, provider: String, message: String, status: Int? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.provider = provider
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    public var isRetryable: Bool { [.retryable, .rateLimited, .paced, .breakerOpen].contains(kind) }

    public var description: String {
        "\(provider): \(kind.rawValue)\(status.map { " (HTTP \($0))" } ?? ""): \(message)"
    }

    /// The class of an HTTP status.
    public static func kind(forStatus status: Int) -> Kind {
        switch status {
        case 401, 403: return .unauthorized
        case 404, 410: return .notFound
        case 409: return .conflict
        case 429: return .rateLimited
        case 408, 500...599: return .retryable
        default: return .terminal
        }
    }
}
