import Foundation
import HTTPServer
import Resources
import YAML
import Store

/// The Kubernetes API of the resources (`agents.convos.org/v1`, cluster-scoped) beside `/v1`, over
/// the same store and validation: discovery, OpenAPI v3, GET and LIST (tables included), POST,
/// PUT, PATCH, DELETE, and watches (`KubeWatch`). Errors are `Status` objects.
extension ControllerAPI {
    package static let kubeBase = "/apis/agents.convos.org/v1"

    package func addKubeRoutes(_ router: inout Router) {
        let store = self.store, kube = KubeStore(db: store.db), watches = self.watches
        router.add("GET", "/version") { _ in KubeResponse.json(KubeDiscovery.version) }
        router.add("GET", "/api") { KubeDiscovery.api($0) }
        router.add("GET", "/apis") { KubeDiscovery.apis($0) }
        router.add("GET", "/api/v1") { _ in KubeDiscovery.resourceList(groupVersion: "v1", [KubeDiscovery.events]) }
        router.add("GET", "/apis/agents.convos.org") { _ in
            let version: JSONValue = .object(["groupVersion": .string(KubeObject.groupVersion), "version": "v1"])
            return KubeResponse.json(.object(["kind": "APIGroup", "apiVersion": "v1", "name": .string(KubeObject.group),
                                              "versions": .array([version]), "preferredVersion": version]))
        }
        router.add("GET", Self.kubeBase) { _ in KubeDiscovery.resourceList(groupVersion: KubeObject.groupVersion, KubeDiscovery.resources) }
        router.add("GET", "/openapi/v3") { _ in KubeResponse.json(KubeOpenAPI.index) }
        router.add("GET", "/openapi/v3/apis/agents.convos.org/v1") { _ in KubeResponse.json(KubeOpenAPI.group) }
        router.add("GET", "/api/v1/events") { request in
            try await Self.kube(nil, nil) { try await Self.kubeEvents(store: store, request) }
        }
        router.add("GET", "/apis/events.k8s.io/v1") { _ in KubeDiscovery.resourceList(groupVersion: "events.k8s.io/v1", [KubeDiscovery.events]) }
        router.add("GET", "/apis/events.k8s.io/v1/events") { request in
            try await Self.kube(nil, nil) { try await Self.kubeEvents(store: store, request, eventsAPI: true) }
        }

        router.add("GET", Self.kubeBase + "/:resource") { request in
            let resource = request.pathParameters["resource"]!
            return try await Self.kube(nil, nil) {
                let selector = try KubeSelector(label: request.query["labelSelector"], field: request.query["fieldSelector"])
                if resource == "instances" { return try await Self.kubeInstances(store: store, kube: kube, request, selector: selector) }
                let kind = try Self.kubeKind(resource)
                if ["true", "1"].contains(request.query["watch"] ?? "") {
                    guard let watches else { throw KubeStatus.badRequest("watches are not served here") }
                    return try await watches.open(kind: kind, request: request, selector: selector)
                }
                let listed = try await kube.list(kind)
                return Self.kubeList(kind: kind, resource: resource, listed.objects.filter(selector.matches),
                                     resourceVersion: listed.resourceVersion, request)
            }
        }
        router.add("GET", Self.kubeBase + "/:resource/:name") { request in
            let resource = request.pathParameters["resource"]!, name = request.pathParameters["name"]!
            return try await Self.kube(nil, name) {
                if resource == "instances" {
                    guard let instance = try await InstanceQueries(db: store.db).get(name) else {
                        throw KubeStatus(code: 404, reason: .notFound, message: "instances.\(KubeObject.group) \"\(name)\" not found")
                    }
                    return try Self.kubeOne(Self.instanceObject(instance, rv: try await kube.currentVersion()), resource: resource, request)
                }
                let kind = try Self.kubeKind(resource)
                guard let object = try await kube.get(kind, name) else { throw KubeStatus.notFound(kind, name) }
                return Self.kubeOne(object, resource: resource, request)
            }
        }
        router.add("POST", Self.kubeBase + "/:resource") { request in
            let kind = try? Self.kubeKind(request.pathParameters["resource"]!)
            return try await Self.kube(kind, nil) {
                let kind = try Self.kubeWritable(request.pathParameters["resource"]!)
                var manifest = try KubeObject.manifest(try Self.kubeBody(request), kind: kind, name: nil)
                manifest.resourceVersion = nil
                return try await Self.kubeWrite(store: store, kube: kube, manifest, mode: .createOnly, request, status: 201)
            }
        }
        router.add("PUT", Self.kubeBase + "/:resource/:name") { request in
            let name = request.pathParameters["name"]!
            let kind = try? Self.kubeKind(request.pathParameters["resource"]!)
            return try await Self.kube(kind, name) {
                let kind = try Self.kubeWritable(request.pathParameters["resource"]!)
                let manifest = try KubeObject.manifest(try Self.kubeBody(request), kind: kind, name: name)
                return try await Self.kubeUpdate(store: store, kube: kube, kind, name, request) { current in
                    try Self.kubePrecondition(manifest.resourceVersion, current: current.changeVersion, kind: kind, name: name)
                    return manifest
                }
            }
        }
        router.add("PATCH", Self.kubeBase + "/:resource/:name") { request in
            let name = request.pathParameters["name"]!
            let kind = try? Self.kubeKind(request.pathParameters["resource"]!)
            return try await Self.kube(kind, name) {
                let kind = try Self.kubeWritable(request.pathParameters["resource"]!)
                let patch = try Self.kubeJSON(request.body)
                let type = try KubePatch.PatchType(contentType: request.contentType)
                // A resourceVersion the patch itself sets is a precondition; the current one, kept by the merge, is not.
                let asked = patch["metadata"]?["resourceVersion"]?.stringValue
                return try await Self.kubeUpdate(store: store, kube: kube, kind, name, request) { current in
                    // The patch applies to the object as this write's transaction read it, under its row lock.
                    let object = KubeObject.make(kind: kind, rv: current.changeVersion, row: current.row)
                    let patched = try KubePatch.apply(type, patch, to: object)
                    try Self.kubePrecondition(asked, current: current.changeVersion, kind: kind, name: name)
                    return try KubeObject.manifest(Self.kubeStripServerFields(patched), kind: kind, name: name)
                }
            }
        }
        router.add("DELETE", Self.kubeBase + "/:resource/:name") { request in
            let name = request.pathParameters["name"]!
            let kind = try? Self.kubeKind(request.pathParameters["resource"]!)
            return try await Self.kube(kind, name) {
                let kind = try Self.kubeWritable(request.pathParameters["resource"]!)
                guard let current = try await kube.get(kind, name) else { throw KubeStatus.notFound(kind, name) }
                if Self.kubeDryRun(request) { return KubeResponse.json(current) }
                if try await store.delete(kind, name) != nil, let terminating = try await kube.get(kind, name) {
                    // An agent: Terminating, with its finalizer, until the teardown is done.
                    return KubeResponse.json(terminating, status: 202)
                }
                return KubeResponse.json(.object([
                    "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Success",
                    "details": .object(["name": .string(name), "group": .string(KubeObject.group), "kind": .string(kind.plural),
                                        "uid": current["metadata"]?["uid"] ?? .null]),
                ]))
            }
        }
    }

    // MARK: - Helpers

    /// Runs a Kubernetes handler: every error it throws that has a Kubernetes meaning is answered
    /// as a `Status`; the rest go on to the router (a 500 whose cause is logged).
    package static func kube(_ kind: ResourceKind?, _ name: String?, _ body: () async throws -> HTTPResponse) async throws -> HTTPResponse {
        do {
            return try await body()
        } catch {
            guard let status = KubeStatus.from(error, kind: kind, name: name) else { throw error }
            return status.response
        }
    }

    package static func kubeKind(_ resource: String) throws -> ResourceKind {
        guard let kind = ResourceKind.allCases.first(where: { $0.plural == resource }) else {
            throw KubeStatus(code: 404, reason: .notFound, message: "the server could not find the requested resource \(resource)")
        }
        return kind
    }

    package static func kubeWritable(_ resource: String) throws -> ResourceKind {
        if resource == "instances" {
            throw KubeStatus(code: 405, reason: .methodNotAllowed, message: "instances are read-only: the reconciler makes them")
        }
        return try kubeKind(resource)
    }

    package static func kubeDryRun(_ request: HTTPRequest) -> Bool { request.query["dryRun"] == "All" }

    package static func kubeJSON(_ body: Data) throws -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: body) } catch {
            throw KubeStatus.badRequest("the body is not valid JSON")
        }
    }

    /// The body of a POST or PUT: JSON, or YAML (kubectl sends JSON; people with curl send either).
    package static func kubeBody(_ request: HTTPRequest) throws -> JSONValue {
        switch request.contentType {
        case nil, "application/json": return try kubeJSON(request.body)
        case "application/yaml", "application/x-yaml":
            do { return try JSONValue(yaml: YAMLParser().parseDocument(String(decoding: request.body, as: UTF8.self))) } catch {
                throw KubeStatus.badRequest("the body is not valid YAML")
            }
        case let other?:
            throw KubeStatus(code: 415, reason: .unsupportedMediaType, message: "content type \(other) is not accepted; send application/json")
        }
    }

    /// Fields the server sets, dropped from a patched object before it is decoded again.
    package static func kubeStripServerFields(_ object: JSONValue) -> JSONValue {
        guard case .object(var o) = object else { return object }
        o["status"] = nil
        if case .object(var meta)? = o["metadata"] {
            for key in ["resourceVersion", "uid", "creationTimestamp", "generation", "deletionTimestamp", "finalizers", "managedFields"] {
                meta[key] = nil
            }
            o["metadata"] = .object(meta)
        }
        return .object(o)
    }

    package static func kubePrecondition(_ asked: String?, current: Int, kind: ResourceKind, name: String) throws {
        guard let asked, !asked.isEmpty else { return }
        if asked != String(current) {
            throw KubeStatus.conflict(kind, name, "the object has been modified; please apply your changes to the latest version and try again")
        }
    }

    /// POST: a create, its existence checked in the write's transaction.
    package static func kubeWrite(store: ResourceStore, kube: KubeStore, _ manifest: Manifest, mode: ResourceStore.ApplyMode,
                          _ request: HTTPRequest, status: Int) async throws -> HTTPResponse {
        _ = try await store.apply([manifest], dryRun: kubeDryRun(request), mode: mode)
        if kubeDryRun(request) { return KubeResponse.json(try await dryRunObject(kube: kube, manifest), status: status) }
        guard let object = try await kube.get(manifest.kind, manifest.name) else { throw KubeStatus.notFound(manifest.kind, manifest.name) }
        return KubeResponse.json(object, status: status)
    }

    /// PUT and PATCH: `body` makes the manifest from the object as read under its row lock.
    package static func kubeUpdate(store: ResourceStore, kube: KubeStore, _ kind: ResourceKind, _ name: String, _ request: HTTPRequest,
                           _ body: @escaping @Sendable (ResourceStore.LockedObject) throws -> Manifest) async throws -> HTTPResponse {
        let dryRun = kubeDryRun(request)
        let (_, manifest) = try await store.update(kind, name, dryRun: dryRun, body)
        if dryRun { return KubeResponse.json(try await dryRunObject(kube: kube, manifest)) }
        guard let object = try await kube.get(kind, name) else { throw KubeStatus.notFound(kind, name) }
        return KubeResponse.json(object)
    }

    /// What a dry run answers: the stored object (or a new one) with the manifest's spec and metadata.
    package static func dryRunObject(kube: KubeStore, _ manifest: Manifest) async throws -> JSONValue {
        let object = try await kube.get(manifest.kind, manifest.name) ?? .object([
            "apiVersion": .string(KubeObject.groupVersion), "kind": .string(manifest.kind.rawValue),
            "metadata": .object(["name": .string(manifest.name)])])
        guard case .object(var o) = object else { return object }
        o["spec"] = manifest.spec
        if case .object(var meta)? = o["metadata"] {
            meta["labels"] = manifest.labels.isEmpty ? nil : .object(manifest.labels.mapValues(JSONValue.string))
            meta["annotations"] = (manifest.annotations ?? [:]).isEmpty ? nil : .object((manifest.annotations ?? [:]).mapValues(JSONValue.string))
            o["metadata"] = .object(meta)
        }
        return .object(o)
    }

    package static func kubeOne(_ object: JSONValue, resource: String, _ request: HTTPRequest) -> HTTPResponse {
        guard KubeTable.wants(request.header("accept")) else { return KubeResponse.json(object) }
        return KubeResponse.json(KubeTable.table(resource: resource, objects: [object], listRV: nil, includeObject: request.query["includeObject"]))
    }

    /// A list, paged by `limit` and `continue` (the name to start after), as a Table when asked.
    package static func kubeList(kind: ResourceKind?, resource: String, _ objects: [JSONValue], resourceVersion: Int, _ request: HTTPRequest) -> HTTPResponse {
        var page = objects
        if let token = request.query["continue"], let data = Data(base64Encoded: token), let after = String(data: data, encoding: .utf8) {
            page = page.filter { ($0["metadata"]?["name"]?.stringValue ?? "") > after }
        }
        var more: String?
        if let limit = request.query["limit"].flatMap(Int.init), limit > 0, page.count > limit {
            page = Array(page.prefix(limit))
            more = page.last?["metadata"]?["name"]?.stringValue.map { Data($0.utf8).base64EncodedString() }
        }
        if KubeTable.wants(request.header("accept")) {
            var table = KubeTable.table(resource: resource, objects: page, listRV: String(resourceVersion), includeObject: request.query["includeObject"])
            if let more, case .object(var t) = table, case .object(var meta)? = t["metadata"] {
                meta["continue"] = .string(more)
                t["metadata"] = .object(meta)
                table = .object(t)
            }
            return KubeResponse.json(table)
        }
        var metadata: [String: JSONValue] = ["resourceVersion": .string(String(resourceVersion))]
        if let more { metadata["continue"] = .string(more) }
        return KubeResponse.json(.object([
            "apiVersion": .string(KubeObject.groupVersion), "kind": .string((kind?.rawValue ?? "Instance") + "List"),
            "metadata": .object(metadata), "items": .array(page),
        ]))
    }

    package static func instanceObject(_ instance: some Encodable, rv: Int) throws -> JSONValue {
        let status = try JSONValue.from(instance)
        var meta: [String: JSONValue] = ["name": status["id"] ?? "", "resourceVersion": .string(String(rv))]
        if let created = status["createdAt"]?.stringValue, let date = ISO8601.parse(created) { meta["creationTimestamp"] = .string(KubeObject.format(date)) }
        return .object(["apiVersion": .string(KubeObject.groupVersion), "kind": "Instance", "metadata": .object(meta), "status": status])
    }

    package static func kubeInstances(store: ResourceStore, kube: KubeStore, _ request: HTTPRequest, selector: KubeSelector) async throws -> HTTPResponse {
        if ["true", "1"].contains(request.query["watch"] ?? "") {
            throw KubeStatus(code: 405, reason: .methodNotAllowed, message: "instances cannot be watched yet; watch agents or pools")
        }
        let rv = try await kube.currentVersion()
        let objects = try await InstanceQueries(db: store.db).list().map { try instanceObject($0, rv: rv) }.filter(selector.matches)
        return kubeList(kind: nil, resource: "instances", objects, resourceVersion: rv, request)
    }
}
