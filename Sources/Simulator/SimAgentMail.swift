import Foundation

/// AgentMail inboxes (`/v0/inboxes`), with `client_id` idempotency: a create naming an existing
/// `client_id` answers the existing inbox.
extension SimCloud {
    func agentMail(method: String, inboxID: String?, query: [String: String], body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else {
            return amError(401, "missing_authorization", "Unauthorized")
        }
        switch (method, inboxID) {
        case ("GET", nil):
            let all = inboxes.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            let limit = Int(query["limit"] ?? "100") ?? 100
            let offset = Int(query["page_token"] ?? "0") ?? 0
            let page = Array(all.dropFirst(offset).prefix(limit))
            var response: [String: Any] = ["count": page.count, "limit": limit, "inboxes": page.map(inboxObject)]
            if offset + page.count < all.count { response["next_page_token"] = String(offset + page.count) }
            return .json(response)
        case ("POST", nil):
            let request = jsonObject(body) ?? [:]
            let clientID = request["client_id"] as? String
            if let clientID, let existing = inboxes.values.first(where: { $0.clientID == clientID }) {
                return .json(inboxObject(existing))
            }
            // The plan's inbox limit (Free 3, Developer 10, Startup 150).
            if let limit = options.agentMailInboxLimit, inboxes.count >= limit {
                return amError(403, "limit_exceeded", "Inbox limit exceeded")
            }
            let username = (request["username"] as? String) ?? nextID("inbox-")
            let id = "\(username)@\(request["domain"] as? String ?? "agentmail.to")"
            guard inboxes[id] == nil else { return amError(422, "already_exists", "Inbox already exists") }
            let inbox = Inbox(id: id, clientID: clientID ?? "", displayName: request["display_name"] as? String ?? username, createdAt: clock.now)
            inboxes[id] = inbox
            record("agentmail", "create", "inbox", id: id, name: inbox.clientID)
            return .json(inboxObject(inbox))
        case ("GET", let id?):
            guard let inbox = inboxes[id] else { return amError(404, "not_found", "Inbox not found") }
            return .json(inboxObject(inbox))
        case ("PATCH", let id?):
            guard var inbox = inboxes[id] else { return amError(404, "not_found", "Inbox not found") }
            if let name = (jsonObject(body) ?? [:])["display_name"] as? String { inbox.displayName = name }
            inboxes[id] = inbox
            return .json(inboxObject(inbox))
        case ("DELETE", let id?):
            guard let inbox = inboxes.removeValue(forKey: id) else { return amError(404, "not_found", "Inbox not found") }
            record("agentmail", "delete", "inbox", id: id, name: inbox.clientID)
            return SimResponse(status: 204, headers: [], body: Data())
        default:
            return amError(405, "method_not_allowed", "Method not allowed")
        }
    }

    /// `GET|POST /v0/webhooks`: each signed with the simulator's one secret (AgentMail gives one per webhook).
    func agentMailWebhooks(method: String, body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else { return amError(401, "missing_authorization", "Unauthorized") }
        func object(_ w: (id: String, url: String, clientID: String?)) -> [String: Any] {
            ["webhook_id": w.id, "url": w.url, "event_types": ["message.received"], "secret": Simulator.agentMailWebhookSecret, "enabled": true,
             "client_id": w.clientID as Any? ?? NSNull()]
        }
        if method == "GET" { return .json(["count": mailWebhooks.count, "webhooks": mailWebhooks.map(object)]) }
        guard let request = jsonObject(body), let url = request["url"] as? String else { return amError(400, "validation_error", "url is required") }
        let clientID = request["client_id"] as? String
        if let clientID, let existing = mailWebhooks.first(where: { $0.clientID == clientID }) { return .json(object(existing)) }
        let hook = (id: nextID("wh_"), url: url, clientID: clientID)
        mailWebhooks.append(hook)
        return .json(object(hook))
    }

    private func inboxObject(_ i: Inbox) -> [String: Any] {
        ["pod_id": "pod_sim", "inbox_id": i.id, "email": i.id, "display_name": i.displayName, "client_id": i.clientID,
         "created_at": iso(i.createdAt), "updated_at": iso(i.createdAt)]
    }

    private func amError(_ status: Int, _ code: String, _ message: String) -> SimResponse {
        .json(["name": "Error", "code": code, "message": message], status: status)
    }

    /// Bankr's `GET /wallet/me`: any key shaped `bk_...` is valid here.
    func bankrWallet(apiKey: String?) -> SimResponse {
        guard let key = apiKey, key.hasPrefix("bk_"), key.count > 5 else {
            return .json(["success": false, "error": "Invalid API key"], status: 401)
        }
        let address = "0x" + String(UInt64(truncatingIfNeeded: key.hashValue), radix: 16).padding(toLength: 40, withPad: "0", startingAt: 0)
        return .json(["success": true, "address": address, "chains": ["base"]])
    }

}
