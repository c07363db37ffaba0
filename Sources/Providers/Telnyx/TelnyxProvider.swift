import Foundation
import Resources

/// Telnyx v2 phone numbers as they behave (convos-system.md section 3): search about 20 and pick
/// at random (one searched number makes concurrent orders collide), order it, follow the order,
/// attach the number to a messaging profile (without one it cannot send SMS), release it.
///
/// The primitives only: the services layer keeps the order's and the number's ids and the reuse
/// pool (`InProcessServices+Telnyx.swift`), so nothing here relies on `customer_reference` being
/// copied from an order onto its number, which Telnyx does not document. Nothing here sleeps.
public final class TelnyxProvider: Sendable {
    public let tool = ToolName.sms
    let http: ProviderHTTPClient
    let base: URL
    let key: String?
    /// `TELNYX_MESSAGING_PROFILE_ID`; when unset, one is found or created by name.
    public let messagingProfileID: String?

    public init(base: URL, apiKey: String?, messagingProfileID: String? = nil, http: ProviderHTTPClient = ProviderHTTPClient(provider: "telnyx")) {
        self.base = base
        self.key = apiKey
        self.messagingProfileID = messagingProfileID
        self.http = http
    }

    public var stats: ProviderStats { http.stats }
    public var breaker: CircuitBreaker { http.breaker }
    public var quota: QuotaGate { http.quota }
    public var isConfigured: Bool { key != nil }

    /// What an order says of itself.
    public struct Order: Sendable, Equatable {
        public enum Status: String, Sendable { case pending, success, failure }
        public var id: String
        public var status: Status
        public var phoneNumber: String
    }

    /// Up to `limit` numbers that can send SMS in `country`; with `endsWith`, only numbers ending
    /// so (a documented filter), which spreads concurrent searchers over different numbers.
    public func search(country: String, limit: Int = 20, endsWith: String? = nil) async throws(ProviderError) -> [String] {
        var query = [("filter[country_code]", country), ("filter[limit]", String(limit)), ("filter[features][]", "sms")]
        if let endsWith { query.append(("filter[phone_number][ends_with]", endsWith)) }
        let page = try await send("GET", "/available_phone_numbers", query: query, operation: "available_phone_numbers")
        return (page["data"]?.arrayValue ?? []).compactMap { $0["phone_number"]?.stringValue }
    }

    /// Orders one number. Another buyer got it first: `.conflict` (Telnyx answers 409 or 422),
    /// so the caller picks another.
    public func order(_ phoneNumber: String, reference: String, messagingProfileID: String? = nil) async throws(ProviderError) -> Order {
        var fields: [String: JSONValue] = ["phone_numbers": .array([.object(["phone_number": .string(phoneNumber)])]),
                                           "customer_reference": .string(reference)]
        // Ordered on the profile, the number can send SMS as soon as it exists.
        if let messagingProfileID { fields["messaging_profile_id"] = .string(messagingProfileID) }
        let body = JSONValue.object(fields)
        do {
            let placed = try await send("POST", "/number_orders", body: body, idempotent: false, operation: "number_orders.create")
            return try Self.order(placed["data"])
        } catch where error.status == 409 || error.status == 422 {
            throw ProviderError(.conflict, provider: "telnyx", message: "\(phoneNumber) was taken: \(error.message)", status: error.status)
        }
    }

    public func order(id: String) async throws(ProviderError) -> Order? {
        do {
            return try Self.order(try await send("GET", "/number_orders/\(id)", operation: "number_orders.get")["data"])
        } catch where error.kind == .notFound {
            return nil
        }
    }

    /// The orders placed under `reference`: a crash between an order and its record is healed by
    /// finding it here (orders do carry their `customer_reference`).
    public func orders(reference: String) async throws(ProviderError) -> [Order] {
        let page = try await send("GET", "/number_orders", query: [("filter[customer_reference]", reference)], operation: "number_orders.list")
        return (page["data"]?.arrayValue ?? []).compactMap { try? Self.order($0) }
    }

    /// An owned number, found by the number itself.
    public struct Number: Sendable, Equatable {
        public var id: String
        public var messagingProfileID: String?
        public var reference: String?
    }

    public func number(_ phoneNumber: String) async throws(ProviderError) -> Number? {
        let page = try await send("GET", "/phone_numbers", query: [("filter[phone_number]", phoneNumber)], operation: "phone_numbers.list")
        guard let found = (page["data"]?.arrayValue ?? []).first(where: { $0["status"]?.stringValue != "deleted" }),
              let id = found["id"]?.stringValue else { return nil }
        return Number(id: id, messagingProfileID: found["messaging_profile_id"]?.stringValue, reference: found["customer_reference"]?.stringValue)
    }

    /// Attaches the number to the messaging profile, so it can send SMS.
    public func attach(numberID: String, messagingProfileID: String) async throws(ProviderError) {
        _ = try await send("PATCH", "/phone_numbers/\(numberID)/messaging", body: .object(["messaging_profile_id": .string(messagingProfileID)]),
                           operation: "phone_numbers.messaging")
    }

    /// Who holds the number now, for people reading Telnyx's console; nothing here relies on it.
    public func label(numberID: String, reference: String) async throws(ProviderError) {
        _ = try await send("PATCH", "/phone_numbers/\(numberID)", body: .object(["customer_reference": .string(reference)]),
                           operation: "phone_numbers.update")
    }

    /// Releases the number; one already gone counts as released.
    public func release(numberID: String) async throws(ProviderError) {
        do {
            _ = try await send("DELETE", "/phone_numbers/\(numberID)", operation: "phone_numbers.delete")
        } catch where error.kind == .notFound {
            return
        }
    }

    public func isGone(numberID: String) async throws(ProviderError) -> Bool {
        do {
            let number = try await send("GET", "/phone_numbers/\(numberID)", operation: "phone_numbers.get")
            return number["data"]?["status"]?.stringValue == "deleted"
        } catch where error.kind == .notFound {
            return true
        }
    }

    /// The messaging profile named `name`, made when there is none.
    public func messagingProfile(named name: String) async throws(ProviderError) -> String {
        let page = try await send("GET", "/messaging_profiles", query: [("filter[name]", name)], operation: "messaging_profiles.list")
        if let id = (page["data"]?.arrayValue ?? []).first(where: { $0["name"]?.stringValue == name })?["id"]?.stringValue { return id }
        let made = try await send("POST", "/messaging_profiles", body: .object(["name": .string(name), "whitelisted_destinations": .array([.string("US")])]),
                                  idempotent: false, operation: "messaging_profiles.create")
        guard let id = made["data"]?["id"]?.stringValue else {
            throw ProviderError(.terminal, provider: "telnyx", message: "messaging profile create answered no id")
        }
        return id
    }

    static func order(_ data: JSONValue?) throws(ProviderError) -> Order {
        guard let data, let id = data["id"]?.stringValue,
              let number = data["phone_numbers"]?.arrayValue?.first?["phone_number"]?.stringValue else {
            throw ProviderError(.terminal, provider: "telnyx", message: "number order answer has no id or number")
        }
        return Order(id: id, status: Order.Status(rawValue: data["status"]?.stringValue ?? "pending") ?? .pending, phoneNumber: number)
    }

    private func send(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                      idempotent: Bool = true, operation: String) async throws(ProviderError) -> JSONValue {
        guard let key else { throw ProviderError(.notConfigured, provider: "telnyx", message: "TELNYX_API_KEY is not set") }
        let response = try await http.send(.init(method: method, url: url(base, path, query), headers: ["Authorization": "Bearer \(key)"],
                                                  body: body?.canonicalData(), idempotent: idempotent, operation: operation))
        return JSONValue(jsonBody: response.body) ?? .null
    }
}
