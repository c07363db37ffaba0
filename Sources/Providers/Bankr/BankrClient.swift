import Foundation
import Resources

/// Bankr's documented REST API, as far as this project uses it: checking that a `bk_` key works.
/// Nothing public mints a key or wallet per agent (providers.md section 7), so keys come from an
/// operator-supplied pool and this client only verifies them with `GET /wallet/me`.
public final class BankrClient: Sendable {
    let http: ProviderHTTPClient
    let base: URL

    public init(base: URL, http: ProviderHTTPClient = ProviderHTTPClient(provider: "bankr")) {
        self.base = base
        self.http = http
    }

    public var stats: ProviderStats { http.stats }
    public var breaker: CircuitBreaker { http.breaker }
    public var quota: QuotaGate { http.quota }

    /// The wallet address the key belongs to, when the response names one.
    public func verify(key: String) async throws(ProviderError) -> String? {
        let response = try await http.send(.init(method: "GET", url: url(base, "/wallet/me"), headers: ["X-API-Key": key],
                                                  idempotent: true, operation: "wallet.me"))
        let body = JSONValue(jsonBody: response.body)
        return body?["address"]?.stringValue ?? body?["evmAddress"]?.stringValue ?? body?["wallet"]?["address"]?.stringValue
    }
}
