import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Providers
import Resources

/// The services API over HTTP, for `SERVICES_URL`. Same calls, same answers as `InProcessServices`.
public struct RemoteServices: ServicesClient {
    let base: URL
    let token: String?
    let http: ProviderHTTPClient

    public init(base: URL, token: String?) {
        self.base = base
        self.token = token
        self.http = ProviderHTTPClient(provider: "services")
    }

    public func statusBatch(_ instanceIDs: [String]) async throws -> StatusBatch {
        try await call("POST", "/status/batch", ["instanceIds": instanceIDs], idempotent: true)
    }

    public func createInstance(_ instanceID: String, image: String) async throws -> InstanceServiceStatus {
        try await call("POST", "/create-instance", ["instanceId": instanceID, "image": image], idempotent: true)
    }

    public func provision(_ instanceID: String, tool: ToolName, options: ToolOptions) async throws -> ToolStatus {
        struct Body: Encodable { let creditLimitUsd: Double?; let country: String; let displayName: String? }
        return try await call("POST", "/provision/\(instanceID)/\(tool.rawValue)",
                              Body(creditLimitUsd: options.creditLimitUsd, country: options.country, displayName: options.displayName), idempotent: true)
    }

    public func teardown(_ instanceID: String) async throws {
        struct Done: Decodable { let state: String }
        let _: Done = try await call("DELETE", "/instances/\(instanceID)", Optional<String>.none, idempotent: true)
    }

    /// Every services call is idempotent by design, so the client may retry any of them.
    private func call<B: Encodable, R: Decodable>(_ method: String, _ path: String, _ body: B?, idempotent: Bool) async throws -> R {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let url = base.appendingPathComponent(String(path.dropFirst()))
        do {
            let response = try await http.send(.init(method: method, url: url, headers: headers, body: try body.map { try JSONEncoder().encode($0) },
                                                      idempotent: idempotent, operation: path.split(separator: "/").first.map(String.init) ?? path))
            return try JSONDecoder().decode(R.self, from: response.body)
        } catch let error as ProviderError {
            throw ServicesError(status: error.status ?? 503, code: "ServicesError", message: error.description)
        }
    }
}
