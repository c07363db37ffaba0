import Foundation
import HTTPServer
import Resources
import YAML
import Store

/// `/v1`: apply, list, get and delete declared objects, and list instances.
extension ControllerAPI {
    package func addResourceRoutes(_ router: inout Router) {
        let store = self.store, planner = self.planner, clock = self.clock
        router.add("POST", "/v1/apply") { request in
            let manifests = try Self.manifests(from: request)
            guard ["true", "1"].contains(request.query["dryRun"]?.lowercased() ?? "") else {
                return .json(ApplyResponse(results: try await store.apply(manifests), dryRun: nil, plannedActions: nil))
            }
            let (results, planned) = try await store.dryRun(manifests, planner: planner, now: clock.now)
            return .json(ApplyResponse(results: results, dryRun: true, plannedActions: planned.map(PlannedAction.init)))
        }
        router.add("GET", "/v1/instances") { _ in
            .json(List(kind: "InstanceList", items: try await InstanceQueries(db: store.db).list()))
        }
        router.add("GET", "/v1/instances/:name") { request in
            let id = request.pathParameters["name"]!
            guard let instance = try await InstanceQueries(db: store.db).get(id) else {
                throw HTTPError.notFound("instance/\(id) not found")
            }
            return .json(instance)
        }
        // `rollout pause|resume|undo`: an operator's word on a pool's rollout to its claimed agents,
        // here and under the Kubernetes group's pools.
        for base in ["/v1/pools", Self.kubeBase + "/pools"] {
            router.add("POST", base + "/:name/rollout/:command") { request in
                let name = request.pathParameters["name"]!, said = request.pathParameters["command"]!
                guard let command = RolloutCommand(rawValue: said) else {
                    throw HTTPError.notFound("no rollout command \(said): pause, resume or undo")
                }
                _ = try await store.get(.pool, name)
                guard try await command.apply(store.db, pool: name) else {
                    throw HTTPError.conflict("pool/\(name) has no rollout: its claimed agents run its digest")
                }
                return .json(["pool": name, "rollout": command.rawValue])
            }
        }
        router.add("GET", "/v1/:kind") { request in
            let kind = try Self.kind(request)
            return .json(List(kind: kind.rawValue + "List", items: try await store.list(kind)))
        }
        router.add("GET", "/v1/:kind/:name") { request in
            .json(try await store.get(try Self.kind(request), request.pathParameters["name"]!))
        }
        router.add("DELETE", "/v1/:kind/:name") { request in
            let kind = try Self.kind(request)
            let name = request.pathParameters["name"]!
            if let remaining = try await store.delete(kind, name) {
                return .json(remaining, status: 202)
            }
            return .json(["kind": kind.rawValue, "name": name, "status": "deleted"])
        }
    }

    package struct ApplyResponse: Encodable {
        package let results: [ApplyResult]
        package let dryRun: Bool?
        /// With `dryRun`: what the reconciler would do about the change, in the order it would.
        package let plannedActions: [PlannedAction]?
    }

    /// One planned action on the wire: `{"action": "provisionTool", "target": "agent/alice/email"}`,
    /// with what else it says (a count, a reason).
    package struct PlannedAction: Encodable {
        package let action: String
        package let target: String
        package let detail: String?
        package init(_ action: Action) {
            self.action = action.kind
            target = action.key
            switch action {
            case .createInstances(_, let count, let digest): detail = "\(count) on \(digest.prefix(19))"
            case .teardown(_, let reason), .markFailed(_, let reason): detail = reason
            case .bindAgent(_, let pool): detail = "from pool \(pool)"
            case .instanceLost(_, let instance, let rebind): detail = "\(instance)\(rebind ? ", rebind" : ", fail")"
            default: detail = nil
            }
        }
    }

    package struct List<Item: Encodable>: Encodable {
        package var apiVersion = ResourceKind.apiVersion
        package let kind: String
        package let items: [Item]
    }

    package static func kind(_ request: HTTPRequest) throws -> ResourceKind {
        let segment = request.pathParameters["kind"] ?? ""
        guard let kind = ResourceKind.allCases.first(where: { $0.plural == segment }) else {
            // Instances are read-only: only a GET may name them.
            let expected = request.method == "GET" ? "pools, agenttemplates, agents or instances" : "pools, agenttemplates or agents"
            throw HTTPError.notFound("no resource kind \"\(segment)\"; expected \(expected)")
        }
        return kind
    }

    /// Reads YAML (several documents) or JSON (an object, an array, or a List) into manifests.
    package static func manifests(from request: HTTPRequest) throws -> [Manifest] {
        guard let text = String(data: request.body, encoding: .utf8) else {
            throw HTTPError.badRequest("body is not UTF-8 text")
        }
        do {
            switch request.contentType {
            case nil, "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
                return try ManifestDecoder.decode(yaml: text)
            case "application/json":
                return try ManifestDecoder.decode(documents: [try parseJSON(request.body)])
            case let other?:
                throw HTTPError.unsupportedMediaType("content type \(other) is not accepted; send application/yaml or application/json")
            }
        } catch let errors as ManifestErrors {
            throw invalid(errors)
        }
    }

    /// Parses JSON with Foundation, keeping JSON's types (a quoted "3" stays a string).
    package static func parseJSON(_ body: Data) throws -> YAMLNode {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: body).typedYAMLNode
        } catch {
            throw malformedJSON(body)
        }
    }

    /// JSONDecoder says only "not valid JSON"; JSONSerialization names the offset, which becomes
    /// a line and column here.
    package static func malformedJSON(_ body: Data) -> HTTPError {
        var reason = "not valid JSON"
        var line: Int?, column: Int?
        do {
            _ = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            let text = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? reason
            reason = text
            if let range = text.range(of: #"character (\d+)"#, options: .regularExpression),
               let offset = Int(text[range].dropFirst(10)) {
                let prefix = body.prefix(offset)
                line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
                column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
                reason = String(text[..<range.lowerBound]).replacingOccurrences(of: " around ", with: "").trimmingCharacters(in: .whitespaces)
            }
        }
        let location = line.map { " (line \($0), column \(column ?? 0))" } ?? ""
        return .badRequest("malformed JSON: \(reason)\(location)",
                           details: [.init(path: "", message: "malformed JSON: \(reason)", line: line, column: column)])
    }
}
