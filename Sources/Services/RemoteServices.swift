import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Providers
import Resources

/// The services API over HTTP, for `SERVICES_URL`: same calls, same answers as `InProcessServices`.
/// An error answer keeps its code (`BankrPoolEmpty`, `ProviderNotConfigured`, ...) across the wire.
public struct RemoteServices: ServicesClient {
    package let base: URL
    package let token: String?
    package let http: ProviderHTTPClient

    public init(base: URL, token: String?) {
        self.base = base
        self.token = token
        // Configure waits for the runtime's provision (up to a minute); status pings every runtime.
        self.http = ProviderHTTPClient(provider: "services", requestTimeout: .seconds(150))
    }

    public func createInstance(_ instanceID: String, image: String?, env: [String: String]) async throws -> CreatedInstance {
        struct Body: Encodable { let instanceId: String; let image: String?; let env: [String: String] }
        return try await call("POST", "/create-instance", Body(instanceId: instanceID, image: image, env: env))
    }

    public func destroy(_ instanceID: String) async throws {
        let _: Ack = try await call("DELETE", "/destroy/\(instanceID)", Optional<String>.none)
    }

    public func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch {
        try await call("POST", "/status/batch", ["instanceIds": instanceIDs])
    }

    public func redeploy(_ instanceID: String, image: String?) async throws {
        let _: Ack = try await call("POST", "/redeploy/\(instanceID)", ["image": image])
    }

    public func provision(_ instanceID: String, tool: ToolName, _ request: ProvisionRequest) async throws -> ProvisionResult {
        try await call("POST", "/provision/\(instanceID)/\(tool.rawValue)", request)
    }

    @discardableResult
    public func destroyTool(_ instanceID: String, tool: ToolName, resourceID: String) async throws -> Bool {
        let answer: Removed = try await call("DELETE", "/destroy/\(instanceID)/\(tool.rawValue)/\(resourceID)", Optional<String>.none)
        return answer.removed ?? true
    }

    private struct Removed: Decodable { let removed: Bool? }

    public func configure(_ instanceID: String, _ request: ConfigureRequest) async throws -> ConfigureResult {
        try await call("POST", "/configure/\(instanceID)", request, retry: false)
    }

    public func pruneVariables(_ instanceID: String, allowed: [String]) async throws -> [String] {
        struct Answer: Decodable { let removed: [String] }
        let answer: Answer = try await call("POST", "/prune-variables/\(instanceID)", ["allowed": allowed])
        return answer.removed
    }

    public func conversationState(_ instanceID: String) async throws -> RuntimeConversationState? {
        struct Answer: Decodable { let state: RuntimeConversationState? }
        let answer: Answer = try await call("GET", "/conversation/\(instanceID)", Optional<String>.none)
        return answer.state
    }

    public func updateTemplate(_ instanceID: String, _ request: ConfigureRequest) async throws -> RuntimeCallResult {
        try await call("POST", "/update-template/\(instanceID)", request)
    }

    public func cloneSummary(_ parentInstanceID: String, _ request: CloneSummaryRequest) async throws -> RuntimeCallResult {
        try await call("POST", "/clone-summary/\(parentInstanceID)", request)
    }

    public func registry() async throws -> Registry { try await call("GET", "/registry", Optional<String>.none) }

    public func storeUserConfig(agent: String, _ values: [String: String]) async throws {
        let _: Ack = try await call("PUT", "/user-config/\(agent)", ["userConfig": values])
    }

    public func forgetUserConfig(agent: String) async throws {
        let _: Ack = try await call("DELETE", "/user-config/\(agent)", Optional<String>.none)
    }

    public func recordObserved(_ deployStatuses: [String: DeployStatus]) async throws {
        let _: Ack = try await call("POST", "/status/observed", ["deployStatuses": deployStatuses.mapValues(\.rawValue)])
    }

    public func handOver(_ instanceID: String) async throws {
        let _: Ack = try await call("POST", "/hand-over/\(instanceID)", Optional<String>.none)
    }

    public func removeStrays(_ instanceID: String) async throws {
        let _: Ack = try await call("POST", "/remove-strays/\(instanceID)", Optional<String>.none)
    }

    public func upgrade(_ instanceID: String, image: String, allowed: [String]) async throws -> [String] {
        struct Body: Encodable { let image: String; let allowed: [String] }
        struct Answer: Decodable { let removed: [String] }
        let answer: Answer = try await call("POST", "/upgrade/\(instanceID)", Body(image: image, allowed: allowed))
        return answer.removed
    }

    public func stockNumbers() async throws -> Bool {
        struct Answer: Decodable { let pending: Bool }
        let answer: Answer = try await call("POST", "/stock-numbers", Optional<String>.none)
        return answer.pending
    }

    public func auditTools() async throws {
        let _: Ack = try await call("POST", "/audit-tools", Optional<String>.none)
    }

    private struct Ack: Decodable {}

    /// Error answers are read here, not by the HTTP client, so their code survives; the client
    /// retries only calls that got no answer. Every call but configure (which may make a
    /// conversation each time) is safe to repeat.
    private func call<B: Encodable, R: Decodable>(_ method: String, _ path: String, _ body: B?, retry: Bool = true) async throws -> R {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let url = base.appendingPathComponent(String(path.dropFirst()))
        let response: ProviderHTTPClient.Response
        do {
            response = try await http.send(.init(method: method, url: url, headers: headers, body: try body.map { try JSONEncoder().encode($0) },
                                                  idempotent: retry, operation: String(path.split(separator: "/").first ?? ""),
                                                  passthrough: Set(400...599)))
        } catch let error as ProviderError {
            // No answer at all (connection refused, timed out): the services host is unavailable.
            throw ServicesError(status: 503, code: .providerUnavailable, message: "services: \(error.message)")
        }
        if response.status >= 400 {
            var error = Self.error(response.status, response.body)
            error.retryAfter = RetryAfter.parse(response.header("retry-after"))
            throw error
        }
        let decoder = JSONDecoder()
        // The services API writes dates as ISO 8601 (`HTTPResponse.json`).
        decoder.dateDecodingStrategy = .custom { d in
            let text = try d.singleValueContainer().decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: d.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
            }
            return date
        }
        return try decoder.decode(R.self, from: response.body)
    }

    /// The services error of an answer: `{"error": {"code", "message"}}`.
    package static func error(_ status: Int, _ body: Data) -> ServicesError {
        struct Envelope: Decodable { struct Inner: Decodable { let code: String?; let message: String? }; let error: Inner? }
        let envelope = try? JSONDecoder().decode(Envelope.self, from: body)
        let code = envelope?.error?.code.flatMap(ServicesErrorCode.init(rawValue:)) ?? (status == 401 ? .unauthorized : status == 404 ? .notFound : .invalid)
        return ServicesError(status: status, code: code, message: envelope?.error?.message ?? "HTTP \(status)")
    }

}
