import Foundation
import Resources

/// Per-agent phone numbers through Telnyx v2: search, order (tagged with `customer_reference`,
/// Telnyx's only handle for de-duplication), follow the order, release.
///
/// Orders complete asynchronously: `create` answers `pending` until the number is active, and the
/// caller asks again; nothing here sleeps.
public final class TelnyxProvider: ToolProvider {
    public let tool = ToolName.sms
    let http: ProviderHTTPClient
    let base: URL
    let key: String?
    /// `TELNYX_MESSAGING_PROFILE_ID`: numbers are ordered on it, so they can send SMS.
    let messagingProfileID: String?

    public init(base: URL, apiKey: String?, messagingProfileID: String? = nil, http: ProviderHTTPClient = ProviderHTTPClient(provider: "telnyx")) {
        self.base = base
        self.key = apiKey
        self.messagingProfileID = messagingProfileID
        self.http = http
    }

    public var stats: ProviderStats { http.stats }
    public var breaker: CircuitBreaker { http.breaker }
    public var quota: QuotaGate { http.quota }

    public func observe(name: String) async throws(ProviderError) -> ToolObservation? {
        if let number = try await ownedNumbers(name).first {
            let active = number["status"]?.stringValue == "active"
            return ToolObservation(state: active ? .ready : .pending, externalID: number["id"]?.stringValue ?? "",
                                   variables: variables(number["phone_number"]?.stringValue ?? ""))
        }
        let orders = try await send("GET", "/number_orders", query: [("filter[customer_reference]", name)], operation: "number_orders.list")
        if let order = orders["data"]?.arrayValue?.first(where: { $0["status"]?.stringValue == "pending" || $0["status"]?.stringValue == "success" }) {
            return ToolObservation(state: .pending, externalID: order["id"]?.stringValue ?? "")
        }
        return nil
    }

    public func create(name: String, options: ToolOptions) async throws(ProviderError) -> ToolObservation {
        if let existing = try await observe(name: name) { return existing }
        let available = try await send("GET", "/available_phone_numbers",
                                       query: [("filter[country_code]", options.country ?? "US"), ("filter[limit]", "1"), ("filter[features][]", "sms")],
                                       operation: "available_phone_numbers")
        guard let number = available["data"]?.arrayValue?.first?["phone_number"]?.stringValue else {
            throw ProviderError(.retryable, provider: "telnyx", message: "no number available in \(options.country ?? "US")")
        }
        var order: [String: JSONValue] = ["phone_numbers": .array([.object(["phone_number": .string(number)])]), "customer_reference": .string(name)]
        if let messagingProfileID { order["messaging_profile_id"] = .string(messagingProfileID) }
        let placed = try await send("POST", "/number_orders", body: .object(order), idempotent: false, operation: "number_orders.create")
        return ToolObservation(state: .pending, externalID: placed["data"]?["id"]?.stringValue ?? "")
    }

    private func variables(_ number: String) -> [String: String] {
        var variables = ["TELNYX_PHONE_NUMBER": number]
        if let messagingProfileID { variables["TELNYX_MESSAGING_PROFILE_ID"] = messagingProfileID }
        return variables
    }

    public func update(name: String, externalID: String, options: ToolOptions) async throws(ProviderError) {
        _ = try await send("PATCH", "/phone_numbers/\(externalID)", body: .object(["customer_reference": .string(name), "tags": .array([.string("convos")])]),
                           operation: "phone_numbers.update")
    }

    /// Releases every number carrying the name. An order still pending is retried later, since
    /// its number cannot be released before it exists.
    public func delete(name: String, externalID: String?) async throws(ProviderError) {
        let numbers = try await ownedNumbers(name)
        for number in numbers {
            guard let id = number["id"]?.stringValue else { continue }
            do {
                _ = try await send("DELETE", "/phone_numbers/\(id)", operation: "phone_numbers.delete")
            } catch where error.kind == .notFound {
                continue
            }
        }
        if numbers.isEmpty {
            let orders = try await send("GET", "/number_orders", query: [("filter[customer_reference]", name), ("filter[status]", "pending")],
                                        operation: "number_orders.list")
            if !(orders["data"]?.arrayValue ?? []).isEmpty {
                throw ProviderError(.retryable, provider: "telnyx", message: "number order for \(name) still pending; release after it completes")
            }
        }
    }

    /// Numbers are released by name (every number carrying it), so they are looked for by name.
    public func isGone(name: String, externalID: String?) async throws(ProviderError) -> Bool {
        try await ownedNumbers(name).isEmpty
    }

    private func ownedNumbers(_ name: String) async throws(ProviderError) -> [JSONValue] {
        let page = try await send("GET", "/phone_numbers", query: [("filter[customer_reference]", name), ("page[size]", "250")],
                                  operation: "phone_numbers.list")
        return (page["data"]?.arrayValue ?? []).filter { $0["status"]?.stringValue != "deleted" }
    }

    private func send(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                      idempotent: Bool = true, operation: String) async throws(ProviderError) -> JSONValue {
        guard let key else { throw ProviderError(.notConfigured, provider: "telnyx", message: "TELNYX_API_KEY is not set") }
        let response = try await http.send(.init(method: method, url: url(base, path, query), headers: ["Authorization": "Bearer \(key)"],
                                                  body: body?.canonicalData(), idempotent: idempotent, operation: operation))
        return JSONValue(jsonBody: response.body) ?? .null
    }
}
