import Sync
import Foundation
import Resources

/// Resolves an image tag to its digest through the OCI distribution API, anonymously through the
/// registry's token endpoint (the realm of the `WWW-Authenticate` challenge, never hard-coded),
/// or with `GHCR_TOKEN` as the password of Basic auth to that endpoint.
public final class GHCRClient: Sendable {
    let http: ProviderHTTPClient
    let base: URL
    let token: String?
    private let cache = Locked([String: (token: String, expires: ContinuousClock.Instant)]())

    static let accept = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
    ].joined(separator: ", ")

    public init(base: URL, token: String?, http: ProviderHTTPClient = ProviderHTTPClient(provider: "ghcr")) {
        self.base = base
        self.token = token
        self.http = http
    }

    public var stats: ProviderStats { http.stats }
    public var breaker: CircuitBreaker { http.breaker }
    public var quota: QuotaGate { http.quota }

    /// The digest (`sha256:...`) the reference's tag points to now; a digest reference is its own answer.
    public func resolve(_ image: ImageReference) async throws(ProviderError) -> String {
        if let digest = image.digest { return digest }
        let manifest = url(base, "/v2/\(image.repository)/manifests/\(image.tag ?? "latest")")
        let scope = "repository:\(image.repository):pull"
        var headers = ["Accept": Self.accept]
        if let cached = cachedToken(scope) { headers["Authorization"] = "Bearer \(cached)" }
        var response = try await http.send(.init(method: "HEAD", url: manifest, headers: headers, idempotent: true,
                                                  operation: "manifests.head", passthrough: [401]))
        if response.status == 401 {
            let bearer = try await fetchToken(challenge: response.header("www-authenticate"), scope: scope)
            headers["Authorization"] = "Bearer \(bearer)"
            response = try await http.send(.init(method: "HEAD", url: manifest, headers: headers, idempotent: true, operation: "manifests.head"))
        }
        guard let digest = response.header("docker-content-digest"), digest.hasPrefix("sha256:") else {
            throw ProviderError(.terminal, provider: "ghcr", message: "manifest response has no Docker-Content-Digest")
        }
        return digest
    }

    private func cachedToken(_ scope: String) -> String? {
        cache.withLock { c in
            guard let entry = c[scope], entry.expires > .now else { return nil }
            return entry.token
        }
    }

    private func fetchToken(challenge: String?, scope: String) async throws(ProviderError) -> String {
        guard let challenge, let parameters = Self.parseChallenge(challenge), let realm = parameters["realm"],
              let realmURL = URL(string: realm) else {
            throw ProviderError(.unauthorized, provider: "ghcr", message: "registry asked for credentials without a Bearer challenge")
        }
        var query = [("scope", parameters["scope"] ?? scope)]
        if let service = parameters["service"] { query.append(("service", service)) }
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = "Basic " + Data("convos:\(token)".utf8).base64EncodedString() }
        let response = try await http.send(.init(method: "GET", url: url(realmURL, "", query), headers: headers, idempotent: true,
                                                  operation: "token"))
        let body = JSONValue(jsonBody: response.body)
        guard let bearer = body?["token"]?.stringValue ?? body?["access_token"]?.stringValue else {
            throw ProviderError(.terminal, provider: "ghcr", message: "token response has no token")
        }
        // No expires_in means 60 seconds (the Docker token spec); keep a margin.
        let lifetime = body?["expires_in"]?.intValue ?? 60
        cache.withLock { $0[scope] = (bearer, .now + .seconds(max(1, lifetime - 10))) }
        return bearer
    }

    /// `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/n:pull"`.
    static func parseChallenge(_ header: String) -> [String: String]? {
        guard header.lowercased().hasPrefix("bearer ") else { return nil }
        var out: [String: String] = [:]
        let pattern = #"(\w+)="([^"]*)""#
        let regex = try! NSRegularExpression(pattern: pattern)
        let text = String(header.dropFirst(7))
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let k = Range(match.range(at: 1), in: text), let v = Range(match.range(at: 2), in: text) else { continue }
            out[String(text[k])] = String(text[v])
        }
        return out
    }
}
