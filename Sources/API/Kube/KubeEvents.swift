import Foundation
import HTTPServer
import Postgres
import Resources
import Store

/// `GET /api/v1/events` and `GET /apis/events.k8s.io/v1/events`: the events of `pool.events` as
/// Kubernetes `Event` objects (core, or events.k8s.io with `regarding` and `note`), filtered by
/// `fieldSelector=involvedObject.kind=...,involvedObject.name=...` (`regarding.` for the new API), so
/// `kubectl describe` shows an object's events and `kubectl get events` lists them, oldest first.
extension ControllerAPI {
    package static func kubeEvents(store: ResourceStore, _ request: HTTPRequest, eventsAPI: Bool = false) async throws -> HTTPResponse {
        var kind: String?, name: String?
        for term in KubeSelector.terms(request.query["fieldSelector"] ?? "") {
            let (key, value, equal) = try KubeSelector.equality(term, what: "fieldSelector")
            guard equal else { throw KubeStatus.badRequest("fieldSelector: only = is supported for events") }
            switch key {
            case "involvedObject.kind", "regarding.kind": kind = value
            case "involvedObject.name", "regarding.name": name = value
            case "involvedObject.namespace", "involvedObject.uid", "involvedObject.apiVersion", "metadata.namespace",
                 "regarding.namespace", "regarding.uid", "regarding.apiVersion": continue
            default: throw KubeStatus.badRequest("fieldSelector: \(key) is not a field of events here")
            }
        }
        let limit = min(max(Int(request.query["limit"] ?? "") ?? 500, 1), 1000)
        let events = try await Events.recent(store.db, kind: kind, name: name, limit: limit)
        let items: [JSONValue] = events.reversed().map { e in
            let at = KubeObject.format(e.at)
            let objectKind = e.kind, objectName = e.name, id = e.id
            let reference: JSONValue = .object(["apiVersion": .string(KubeObject.groupVersion), "kind": .string(objectKind), "name": .string(objectName)])
            if eventsAPI {
                return .object([
                    "apiVersion": "events.k8s.io/v1", "kind": "Event",
                    "metadata": .object(["name": .string("\(objectName).\(id)"), "creationTimestamp": .string(at)]),
                    "regarding": reference, "type": .string(e.type), "reason": .string(e.reason),
                    "note": .string(e.message), "eventTime": .string(at),
                    "reportingController": "convos-controller", "reportingInstance": "convos-controller", "action": .string(e.reason),
                ])
            }
            return .object([
                "apiVersion": "v1", "kind": "Event",
                "metadata": .object(["name": .string("\(objectName).\(id)"), "creationTimestamp": .string(at)]),
                "involvedObject": .object(["apiVersion": .string(KubeObject.groupVersion),
                                           "kind": .string(objectKind), "name": .string(objectName)]),
                "type": .string(e.type), "reason": .string(e.reason),
                "message": .string(e.message),
                "firstTimestamp": .string(at), "lastTimestamp": .string(at), "count": .int(1),
                "source": .object(["component": "convos-controller"]),
            ])
        }
        if KubeTable.wants(request.header("accept")) {
            return KubeResponse.json(KubeTable.table(resource: "events", objects: items, listRV: nil, includeObject: request.query["includeObject"]))
        }
        return KubeResponse.json(.object(["apiVersion": .string(eventsAPI ? "events.k8s.io/v1" : "v1"), "kind": "EventList",
                                          "metadata": .object([:]), "items": .array(items)]))
    }
}
