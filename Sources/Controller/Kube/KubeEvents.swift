import Foundation
import HTTPServer
import Postgres
import Resources

/// `GET /api/v1/events`: the events of `pool.events` as core `Event` objects, filtered by
/// `fieldSelector=involvedObject.kind=...,involvedObject.name=...`, so `kubectl describe` shows an
/// object's events and `kubectl get events` lists them, newest last as kubectl sorts them.
extension API {
    static func kubeEvents(store: ResourceStore, _ request: HTTPRequest) async throws -> HTTPResponse {
        var kind: String?, name: String?
        for term in KubeSelector.terms(request.query["fieldSelector"] ?? "") {
            let (key, value, equal) = try KubeSelector.equality(term, what: "fieldSelector")
            guard equal else { throw KubeStatus.badRequest("fieldSelector: only = is supported for events") }
            switch key {
            case "involvedObject.kind": kind = value
            case "involvedObject.name": name = value
            case "involvedObject.namespace", "involvedObject.uid", "involvedObject.apiVersion": continue
            default: throw KubeStatus.badRequest("fieldSelector: \(key) is not a field of events here")
            }
        }
        let limit = min(max(Int(request.query["limit"] ?? "") ?? 500, 1), 1000)
        let rows = try await store.db.query("""
            SELECT id, at, kind, name, type, reason, message FROM pool.events
            WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR name = $2)
            ORDER BY at DESC, id DESC LIMIT $3
            """, [kind, name, limit])
        let items: [JSONValue] = try rows.rows.reversed().map { row in
            let at = KubeObject.format(try row.decode("at", as: Date.self))
            let objectKind: String = try row.decode("kind")
            let objectName: String = try row.decode("name")
            let id: Int = try row.decode("id")
            return .object([
                "apiVersion": "v1", "kind": "Event",
                "metadata": .object(["name": .string("\(objectName).\(id)"), "creationTimestamp": .string(at)]),
                "involvedObject": .object(["apiVersion": .string(KubeObject.groupVersion),
                                           "kind": .string(objectKind), "name": .string(objectName)]),
                "type": .string(try row.decode("type")), "reason": .string(try row.decode("reason")),
                "message": .string(try row.decode("message")),
                "firstTimestamp": .string(at), "lastTimestamp": .string(at), "count": .int(1),
                "source": .object(["component": "convos-controller"]),
            ])
        }
        return KubeResponse.json(.object(["apiVersion": "v1", "kind": "EventList", "metadata": .object([:]), "items": .array(items)]))
    }
}
