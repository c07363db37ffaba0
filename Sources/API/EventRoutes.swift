import Foundation
import HTTPServer
import Postgres
import Resources
import Store

/// `GET /v1/events[?kind=&name=&limit=]`: recent events, newest first (CONTRACT section 4), what
/// `describe` shows under an object. Event messages are written redacted: no secret reaches them.
extension ControllerAPI {
    package struct EventItem: Encodable {
        package let at: String
        package let kind: String
        package let name: String
        package let type: String
        package let reason: String
        package let message: String
    }

    package func addEventRoutes(_ router: inout Router) {
        let db = store.db
        router.add("GET", "/v1/events") { request in
            let filter = try Self.eventFilter(request)
            let items = try await Events.recent(db, kind: filter.kind, name: filter.name, limit: filter.limit).map { e in
                EventItem(at: ISO8601.format(e.at), kind: e.kind, name: e.name, type: e.type, reason: e.reason, message: e.message)
            }
            return .json(List(kind: "EventList", items: items))
        }
    }

    /// The query's filters, each refused by name when malformed (400).
    package static func eventFilter(_ request: HTTPRequest) throws -> (kind: String?, name: String?, limit: Int) {
        var kind: String?
        if let text = request.query["kind"] {
            if ["instance", "instances"].contains(text.lowercased()) { kind = "Instance" }
            else if let resource = ResourceKind(userInput: text) { kind = resource.rawValue }
            else {
                throw HTTPError.badRequest("kind must be Pool, AgentTemplate, Agent or Instance",
                                           details: [.init(path: "kind", message: "unknown kind \"\(text.prefix(64))\"")])
            }
        }
        let name = request.query["name"]
        if let name, name.isEmpty || name.utf8.count > 253 {
            throw HTTPError.badRequest("name must be 1 to 253 characters", details: [.init(path: "name", message: "must be 1 to 253 characters")])
        }
        var limit = 100
        if let text = request.query["limit"] {
            guard let n = Int(text), (1...1000).contains(n) else {
                throw HTTPError.badRequest("limit must be a number from 1 to 1000", details: [.init(path: "limit", message: "must be 1 to 1000")])
            }
            limit = n
        }
        return (kind, name, limit)
    }
}
