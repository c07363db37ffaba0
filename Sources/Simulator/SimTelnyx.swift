import Foundation

/// Telnyx v2 numbers: a search that shows everyone the same free numbers (the first ones, or the
/// first ending as asked), orders that collide on a
/// taken one (422) and complete after `orderDelay`, owned numbers, messaging profiles, release.
extension SimCloud {
    func telnyx(method: String, path: [String], query: [String: String], body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else {
            return telnyxError(401, "10009", "Authentication failed")
        }
        completeOrders()
        if let answer = telnyxMessages(method: method, path: path, query: query, body: body) { return answer }
        switch (method, path.first, path.count) {
        case ("GET", "available_phone_numbers", 1):
            // The same numbers to everyone searching at once, as a real inventory: the first free ones.
            let country = query["filter[country_code]"] ?? "US"
            let limit = min(max(Int(query["filter[limit]"] ?? "") ?? 20, 1), 100)
            let suffix = query["filter[phone_number][ends_with]"] ?? ""
            var found: [String] = []
            var n = 5_550_000
            while found.count < limit, n < 9_999_999 {
                n += 1
                let number = "+1970\(n)"
                if number.hasSuffix(suffix), !takenNumbers.contains(number) { found.append(number) }
            }
            return .json(["data": found.map { number in
                ["record_type": "available_phone_number", "phone_number": number, "vanity_format": "",
                 "best_effort": false, "quickship": true, "reservable": true,
                 "region_information": [["region_type": "country_code", "region_name": country]],
                 "cost_information": ["upfront_cost": "1.00", "monthly_cost": "1.00", "currency": "USD"],
                 "features": [["name": "sms"], ["name": "voice"]]] as [String: Any]
            }, "meta": ["total_results": found.count, "best_effort_results": 0]])
        case ("POST", "number_orders", 1):
            guard let request = jsonObject(body), let first = (request["phone_numbers"] as? [[String: Any]])?.first,
                  let phone = first["phone_number"] as? String else {
                return telnyxError(422, "10004", "Missing required parameter")
            }
            guard !takenNumbers.contains(phone) else { return telnyxError(422, "10015", "Phone number \(phone) is not available") }
            takenNumbers.insert(phone)
            var order = Order(id: uuid(), phoneNumber: phone, customerReference: request["customer_reference"] as? String ?? "",
                              createdAt: .now, status: "pending")
            if let profile = request["messaging_profile_id"] as? String {
                guard messagingProfiles[profile] != nil else { return telnyxError(422, "10015", "messaging_profile_id is not a messaging profile") }
                order.messagingProfileID = profile
            }
            orders[order.id] = order
            record("telnyx", "create", "number_order", id: order.id, name: order.customerReference)
            return .json(["data": orderObject(order)])
        case ("GET", "messaging_profiles", 2):
            guard let name = messagingProfiles[path[1]] else { return telnyxError(404, "10005", "Resource not found") }
            return .json(["data": ["id": path[1], "record_type": "messaging_profile", "name": name,
                                   "webhook_url": profileWebhooks[path[1]] as Any? ?? NSNull()]])
        case ("PATCH", "messaging_profiles", 2):
            guard messagingProfiles[path[1]] != nil else { return telnyxError(404, "10005", "Resource not found") }
            if let url = jsonObject(body)?["webhook_url"] as? String { profileWebhooks[path[1]] = url }
            return .json(["data": ["id": path[1], "record_type": "messaging_profile", "webhook_url": profileWebhooks[path[1]] as Any? ?? NSNull()]])
        case ("GET", "messaging_profiles", 1):
            let wanted = query["filter[name]"]
            let matching = messagingProfiles.filter { profile in wanted.map { profile.value == $0 } ?? true }
            return .json(["data": matching.map { ["id": $0.key, "record_type": "messaging_profile", "name": $0.value] }])
        case ("POST", "messaging_profiles", 1):
            guard let name = jsonObject(body)?["name"] as? String, jsonObject(body)?["whitelisted_destinations"] != nil else {
                return telnyxError(422, "10004", "Missing required parameter")
            }
            let id = uuid()
            messagingProfiles[id] = name
            return .json(["data": ["id": id, "record_type": "messaging_profile", "name": name]])
        case ("PATCH", "phone_numbers", 3) where path[2] == "messaging":
            guard var number = numbers[path[1]], number.status != "deleted" else { return telnyxError(404, "10005", "Resource not found") }
            guard let profile = jsonObject(body)?["messaging_profile_id"] as? String, messagingProfiles[profile] != nil else {
                return telnyxError(422, "10015", "messaging_profile_id is not a messaging profile")
            }
            number.messagingProfileID = profile
            numbers[number.id] = number
            return .json(["data": numberObject(number)])
        case ("GET", "number_orders", 1):
            let matching = orders.values.filter { o in
                (query["filter[customer_reference]"].map { $0 == o.customerReference } ?? true)
                    && (query["filter[status]"].map { $0 == o.status } ?? true)
            }
            return .json(["data": matching.map(orderObject), "meta": ["total_results": matching.count]])
        case ("GET", "number_orders", 2):
            guard let order = orders[path[1]] else { return telnyxError(404, "10005", "Resource not found") }
            return .json(["data": orderObject(order)])
        case ("GET", "phone_numbers", 1):
            let matching = numbers.values.filter { n in
                (query["filter[customer_reference]"].map { $0 == n.customerReference } ?? true)
                    && (query["filter[status]"].map { $0 == n.status } ?? true)
                    && (query["filter[phone_number]"].map { $0 == n.phoneNumber } ?? true)
            }.sorted { $0.id < $1.id }
            return .json(["data": matching.map(numberObject),
                          "meta": ["page_number": 1, "page_size": 250, "total_pages": 1, "total_results": matching.count]])
        case ("GET", "phone_numbers", 2):
            guard let number = numbers[path[1]], number.status != "deleted" else { return telnyxError(404, "10005", "Resource not found") }
            return .json(["data": numberObject(number)])
        case ("PATCH", "phone_numbers", 2):
            guard var number = numbers[path[1]], number.status != "deleted" else { return telnyxError(404, "10005", "Resource not found") }
            let request = jsonObject(body) ?? [:]
            if let reference = request["customer_reference"] as? String { number.customerReference = reference }
            if let tags = request["tags"] as? [String] { number.tags = tags }
            numbers[number.id] = number
            return .json(["data": numberObject(number)])
        case ("DELETE", "phone_numbers", 2):
            guard var number = numbers[path[1]], number.status != "deleted" else { return telnyxError(404, "10005", "Resource not found") }
            number.status = "deleted"
            numbers[number.id] = number
            takenNumbers.remove(number.phoneNumber)
            record("telnyx", "delete", "phone_number", id: number.id, name: number.customerReference)
            return .json(["data": numberObject(number)])
        default:
            return telnyxError(404, "10005", "Resource not found")
        }
    }

    /// Orders past their delay succeed, and their numbers become owned and active.
    private func completeOrders() {
        for (id, order) in orders where order.status == "pending" && ContinuousClock.now - order.createdAt >= options.orderDelay {
            orders[id]?.status = "success"
            counter += 1
            let numberID = String(1_293_384_261_075_731_000 + counter)
            numbers[numberID] = Number(id: numberID, phoneNumber: order.phoneNumber,
                                       customerReference: options.telnyxCopiesReference ? order.customerReference : "",
                                       status: "active", tags: [], messagingProfileID: order.messagingProfileID)
        }
    }

    private func orderObject(_ o: Order) -> [String: Any] {
        ["id": o.id, "record_type": "number_order", "status": o.status, "phone_numbers_count": 1,
         "customer_reference": o.customerReference, "connection_id": NSNull(), "messaging_profile_id": NSNull(), "billing_group_id": NSNull(),
         "phone_numbers": [["id": o.id + "-n", "record_type": "number_order_phone_number", "phone_number": o.phoneNumber,
                            "status": o.status, "phone_number_type": "local", "country_code": "US", "requirements_met": true]],
         "sub_number_orders_ids": [], "requirements_met": true]
    }

    private func numberObject(_ n: Number) -> [String: Any] {
        ["id": n.id, "record_type": "phone_number", "phone_number": n.phoneNumber, "status": n.status, "country_iso_alpha2": "US",
         "phone_number_type": "local", "customer_reference": n.customerReference, "tags": n.tags, "deletion_lock_enabled": false,
         "connection_id": NSNull(), "messaging_profile_id": n.messagingProfileID as Any? ?? NSNull()]
    }

    func telnyxError(_ status: Int, _ code: String, _ title: String) -> SimResponse {
        .json(["errors": [["code": code, "title": title, "detail": title, "source": ["pointer": "/base"]]]], status: status)
    }
}
