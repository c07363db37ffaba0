import Foundation
import HTTPServer
import Resources
import YAML

/// `/api/pool/templates`: the seed's template CRUD, in its flat JSON shape
/// (`{"id", "displayName", "model", "instructions", "tools"}`), over the same store and validation
/// as `AgentTemplate` objects. PUT bumps the generation when the template changes.
extension API {
    func addTemplateRoutes(_ router: inout Router) {
        let store = self.store
        router.add("GET", "/api/pool/templates") { _ in
            .json(["templates": try await store.list(.agentTemplate).map(TemplateView.init)])
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
        router.add("DELETE", "/api/pool/templates/:id") { request in
            let id = request.pathParameters["id"]!
            _ = try await store.delete(.agentTemplate, id)
            return .json(["id": id, "status": "deleted"])
        }
    }

    /// The seed's flat view of a template.
    struct TemplateView: Encodable {
        let id: String
        let displayName: String?
        let model: String
        let instructions: String
        let tools: JSONValue
        let generation: Int
        let resourceVersion: String
        let createdAt: String
        let status: JSONValue

        init(_ object: StoredObject) {
            id = object.metadata.name
            displayName = object.spec["displayName"]?.stringValue
            model = object.spec["model"]?.stringValue ?? ""
            instructions = object.spec["instructions"]?.stringValue ?? ""
            tools = object.spec["tools"] ?? .object([:])
            generation = object.metadata.generation
            resourceVersion = object.metadata.resourceVersion
            createdAt = ISO8601.format(object.metadata.createdAt)
            status = object.status
        }
    }

    /// Server-set fields a client may send back unchanged from a GET; they are ignored.
    static let templateServerFields: Set<String> = ["generation", "resourceVersion", "createdAt", "status"]

    /// Turns a flat template body into an AgentTemplate manifest, so validation is shared.
    static func templateManifest(_ request: HTTPRequest, id pathID: String?) throws -> Manifest {
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
        let spec = pairs.filter { $0.key != "id" && !templateServerFields.contains($0.key) }
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
                return e
            }
            throw invalid(ManifestErrors(flat))
        }
    }
}
