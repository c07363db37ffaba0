import Foundation

/// A provider's answer passed through to a runtime by the services proxy: its status (2xx and 4xx;
/// a 5xx or no answer is an error), content type and body.
public struct Forwarded: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: Data
}

/// The services proxy's calls to a provider with the account's key, on paths the proxy built from
/// our own rows and ids it checked: each segment is percent-encoded here again, so no character of
/// an id can move the request to another path (production's proxy put ids in unencoded, and an
/// encoded `../` reached other inboxes).
enum Forwarding {
    /// RFC 3986's unreserved characters; everything else in a segment is percent-encoded.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func url(_ base: URL, segments: [String], query: [(String, String)]) -> URL? {
        guard var components = URLComponents(url: base, resolvingAgainstBaseURL: false) else { return nil }
        let encoded = segments.map { $0.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        // A segment that is empty, `.` or `..` would change the path's meaning: refused, not sent.
        guard !encoded.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        let basePath = components.percentEncodedPath.hasSuffix("/") ? String(components.percentEncodedPath.dropLast()) : components.percentEncodedPath
        components.percentEncodedPath = basePath + "/" + encoded.joined(separator: "/")
        if !query.isEmpty {
            components.percentEncodedQuery = query.map { name, value in
                "\(name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")"
            }.joined(separator: "&")
        }
        return components.url
    }

    static func send(_ http: ProviderHTTPClient, base: URL, key: String?, provider: String, method: String, segments: [String],
                     query: [(String, String)], body: Data?, operation: String) async throws(ProviderError) -> Forwarded {
        guard let key else { throw ProviderError(.notConfigured, provider: provider, message: "\(provider) is not configured") }
        guard let target = url(base, segments: segments, query: query) else {
            throw ProviderError(.terminal, provider: provider, message: "a path segment is not allowed")
        }
        var headers = ["Authorization": "Bearer \(key)"]
        if body != nil { headers["Content-Type"] = "application/json" }
        // Reads may be sent again; a send never is (it could send the message twice).
        let response = try await http.send(.init(method: method, url: target, headers: headers, body: body, idempotent: method == "GET",
                                                  operation: operation, passthrough: Set(400..<500).subtracting([429])))
        return Forwarded(status: response.status, contentType: response.header("content-type") ?? "application/json", body: response.body)
    }
}

extension AgentMailProvider {
    /// `/v0/inboxes/{inbox}/{rest...}` with the account's key.
    public func forward(_ method: String, inbox: String, _ rest: [String], query: [(String, String)] = [], body: Data? = nil,
                        operation: String) async throws(ProviderError) -> Forwarded {
        try await Forwarding.send(http, base: base, key: key, provider: "agentmail", method: method, segments: ["v0", "inboxes", inbox] + rest,
                                  query: query, body: body, operation: operation)
    }
}

extension TelnyxProvider {
    /// `/v2/{segments...}` (the base names `/v2`) with the account's key.
    public func forward(_ method: String, _ segments: [String], query: [(String, String)] = [], body: Data? = nil,
                        operation: String) async throws(ProviderError) -> Forwarded {
        try await Forwarding.send(http, base: base, key: key, provider: "telnyx", method: method, segments: segments,
                                  query: query, body: body, operation: operation)
    }
}
