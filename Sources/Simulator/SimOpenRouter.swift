import Foundation

/// OpenRouter's management key API (`/api/v1/keys`), in the shapes of its published OpenAPI document.
extension SimCloud {
    func openRouter(method: String, hash: String?, query: [String: String], body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else {
            return orError(401, "Missing Authentication header")
        }
        switch (method, hash) {
        case ("GET", nil):
            let offset = Int(query["offset"] ?? "0") ?? 0
            let all = keys.values.sorted { ($0.createdAt, $0.hash) > ($1.createdAt, $1.hash) }
            return .json(["data": all.dropFirst(offset).prefix(100).map(keyObject)])
        case ("POST", nil):
            guard let request = jsonObject(body), let name = request["name"] as? String, !name.isEmpty else {
                return orError(400, "name is required")
            }
            var key = Key(hash: nextID() + nextID(), name: name, limit: request["limit"] as? Double, disabled: false, createdAt: clock.now, updatedAt: nil)
            key.limitReset = request["limit_reset"] as? String
            keys[key.hash] = key
            record("openrouter", "create", "key", id: key.hash, name: name)
            return .json(["data": keyObject(key), "key": "sk-or-v1-" + nextID() + nextID() + nextID()], status: 201)
        case ("GET", let hash?):
            guard let key = keys[hash] else { return orError(404, "Resource not found") }
            return .json(["data": keyObject(key)])
        case ("PATCH", let hash?):
            guard var key = keys[hash] else { return orError(404, "Resource not found") }
            let request = jsonObject(body) ?? [:]
            if request.keys.contains("limit") { key.limit = request["limit"] as? Double }
            if request.keys.contains("limit_reset") { key.limitReset = request["limit_reset"] as? String }
            if let disabled = request["disabled"] as? Bool { key.disabled = disabled }
            if let name = request["name"] as? String { key.name = name }
            key.updatedAt = clock.now
            keys[hash] = key
            return .json(["data": keyObject(key)])
        case ("DELETE", let hash?):
            guard let key = keys.removeValue(forKey: hash) else { return orError(404, "Resource not found") }
            record("openrouter", "delete", "key", id: hash, name: key.name)
            return .json(["deleted": true])
        default:
            return orError(405, "Method not allowed")
        }
    }

    private func keyObject(_ k: Key) -> [String: Any] {
        let null = NSNull()
        return ["hash": k.hash, "name": k.name, "label": "sk-or-v1-\(k.hash.prefix(3))...\(k.hash.suffix(3))", "disabled": k.disabled,
                "limit": k.limit as Any? ?? null, "limit_remaining": k.limit as Any? ?? null, "limit_reset": k.limitReset as Any? ?? null,
                "include_byok_in_limit": false, "usage": 0, "usage_daily": 0, "usage_weekly": 0, "usage_monthly": 0,
                "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
                "created_at": iso(k.createdAt), "updated_at": k.updatedAt.map(iso) as Any? ?? null,
                "creator_user_id": null, "workspace_id": null, "expires_at": null]
    }

    private func orError(_ status: Int, _ message: String) -> SimResponse {
        .json(["error": ["code": status, "message": message, "metadata": NSNull()]], status: status)
    }
}
