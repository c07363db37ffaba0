import Foundation
import HTTPServer
import Resources
import YAML
import Store

/// `/api/pool/templates`: the seed's template store and CRUD, in its flat shape (`id`, `agentName`,
/// `instructions`, `model`, `tools`, `visibility`, `creatorId`, `createdAt`, `updatedAt`), over the
/// same store and validation as `AgentTemplate` objects. `?visibility=public` is the public store.
extension ControllerAPI {
    package func addTemplateRoutes(_ router: inout Router) {
        let store = self.store
        router.add("GET", "/api/pool/templates") { request in
            let visibility = try request.query["visibility"].map { text -> Visibility in
                guard let v = Visibility(rawValue: text) else {
                    throw HTTPError.badRequest("visibility must be public or private", details: [.init(path: "visibility", message: "must be public or private")])
                }
                return v
            }
            let creator = request.query["creator"]
            let templates = try await store.list(.agentTemplate).map(TemplateView.init).filter { t in
                (visibility.map { t.visibility == $0.rawValue } ?? true) && (creator.map { t.creatorId == $0 } ?? true)
            }
            return .json(["templates": templates])
        }
        router.add("POST", "/api/pool/templates") { request in
            let manifest = try Self.templateManifest(request, id: nil)
            _ = try await store.apply([manifest], mode: .createOnly)
            return .json(TemplateView(try await store.get(.agentTemplate, manifest.name)), status: 201)
        }
        router.add("GET", "/api/pool/templates/:id") { request in
            .json(TemplateView(try await store.get(.agentTemplate, request.pathParameters["id"]!)))
        }
        router.add("PUT", "/api/pool/templates/:id") { request in
            let manifest = try Self.templateManifest(request, id: request.pathParameters["id"]!)
            _ = try await store.apply([manifest], mode: .updateOnly)
            return .json(TemplateView(try await store.get(.agentTemplate, manifest.name)))
        }
        router.add("PATCH", "/api/pool/templates/:id/visibility") { request in
            struct Body: Decodable { let visibility: Visibility }
            let body = try Self.body(Body.self, request, expected: #"{"visibility": "public" | "private"}"#)
            let id = request.pathParameters["id"]!
            let current = try await store.get(.agentTemplate, id)
            guard case .object(var spec) = current.spec else { throw HTTPError.notFound("agenttemplate/\(id) not found") }
            spec["visibility"] = .string(body.visibility.rawValue)
            // At the version just read: a change made meanwhile is a 409, never overwritten.
            _ = try await store.apply([Manifest(kind: .agentTemplate, name: id, labels: current.metadata.labels,
                                                resourceVersion: current.metadata.resourceVersion, spec: .object(spec))], mode: .updateOnly)
            return .json(TemplateView(try await store.get(.agentTemplate, id)))
        }
        router.add("DELETE", "/api/pool/templates/:id") { request in
            let id = request.pathParameters["id"]!
            _ = try await store.delete(.agentTemplate, id)
            return .json(["id": id, "status": "deleted"])
        }
    }

    /// The seed's flat view of a template.
    package struct TemplateView: Encodable {
        package let id: String
        package let agentName: String
        package let instructions: String
        package let model: JSONValue?
        package let tools: JSONValue
        package let visibility: String
        package let creatorId: String?
        package let openrouter: JSONValue?
        package let createdAt: String
        package let updatedAt: String
        package let generation: Int
        package let resourceVersion: String
        package let status: JSONValue

        package init(_ object: StoredObject) {
            id = object.metadata.name
            agentName = object.spec["agentName"]?.stringValue ?? ""
            instructions = object.spec["instructions"]?.stringValue ?? ""
            model = object.spec["model"]
            tools = object.spec["tools"] ?? .array([])
            visibility = object.spec["visibility"]?.stringValue ?? Visibility.private.rawValue
            creatorId = object.spec["creator"]?.stringValue
            openrouter = object.spec["openrouter"]
            createdAt = ISO8601.format(object.metadata.createdAt)
            updatedAt = ISO8601.format(object.metadata.updatedAt)
            generation = object.metadata.generation
            resourceVersion = object.metadata.resourceVersion
            status = object.status
        }
    }

    /// Server-set fields a client may send back unchanged from a GET; they are ignored.
    package static let templateServerFields: Set<String> = ["generation", "resourceVersion", "createdAt", "updatedAt", "status"]

    /// Turns a flat template body into an AgentTemplate manifest, so validation is shared. The
    /// seed's `creatorId` is the spec's `creator`.
    package static func templateManifest(_ request: HTTPRequest, id pathID: String?) throws -> Manifest {
        guard request.contentType == nil || request.contentType == "application/json" else {
            throw HTTPError.unsupportedMediaType("send the template as application/json")
        }
        guard case .mapping(let pairs) = try parseJSON(request.body).kind else {
            throw HTTPError.badRequest("expected a JSON object", details: [.init(path: "", message: "expected a JSON object")])
        }
        let bodyID = pairs.first { $0.key == "id" }.flatMap { pair -> String? in
            if case .scalar(let s) = pair.value.kind { return s.text }
            return nil
        }
        if let pathID, let bodyID, bodyID != pathID {
            throw HTTPError.badRequest("id \(YAMLNode.quoted(bodyID)) does not match the path", details: [.init(path: "id", message: "must match the path (\(pathID))")])
        }
        guard let id = pathID ?? bodyID else {
            throw HTTPError.badRequest("id is required", details: [.init(path: "id", message: "required")])
        }
        let spec = pairs.filter { $0.key != "id" && !templateServerFields.contains($0.key) }.map { pair -> YAMLNode.Pair in
            var pair = pair
            if pair.key == "creatorId" { pair.key = "creator" }
            return pair
        }
        let document = YAMLNode(.mapping([
            .init(key: "apiVersion", value: .string(ResourceKind.apiVersion)),
            .init(key: "kind", value: .string(ResourceKind.agentTemplate.rawValue)),
            .init(key: "metadata", value: YAMLNode(.mapping([.init(key: "name", value: .string(id))]))),
            .init(key: "spec", value: YAMLNode(.mapping(spec))),
        ]))
        do {
            return try ManifestDecoder.decode(documents: [document])[0]
        } catch {
            // The flat shape has no `spec.` level: name fields as the client sent them.
            let flat = error.errors.map { e in
                var e = e
                e.path = e.path == "metadata.name" ? "id" : String(e.path.dropFirst(e.path.hasPrefix("spec.") ? 5 : 0))
                if e.path == "creator" || e.path.hasPrefix("creator.") { e.path = "creatorId" + e.path.dropFirst(7) }
                return e
            }
            throw invalid(ManifestErrors(flat))
        }
    }
}
