import Foundation
import Resources
import Store

/// The OpenAPI v3 documents kubectl reads: the index at `/openapi/v3` and the group's document,
/// whose PATCH operations name their kind (`x-kubernetes-group-version-kind`) and take
/// `fieldValidation`, so `kubectl apply` leaves validation to this server (the same decoder and
/// checks as `/v1/apply`, which refuse unknown fields).
package enum KubeOpenAPI {
    package static let groupPath = "apis/agents.convos.org/v1"

    package static var index: JSONValue {
        .object(["paths": .object([groupPath: .object(["serverRelativeURL": .string("/openapi/v3/\(groupPath)?hash=\(hash)")])])])
    }

    /// Changes when the document does, so clients may cache it by URL.
    package static let hash: String = {
        let data = (try? JSONEncoder().encode(group)) ?? Data()
        var h: UInt64 = 14695981039346656037
        for byte in data { h = (h ^ UInt64(byte)) &* 1099511628211 }
        return String(h, radix: 16, uppercase: true)
    }()

    package static let group: JSONValue = {
        var paths: [String: JSONValue] = [:]
        var schemas: [String: JSONValue] = [:]
        for kind in ResourceKind.allCases {
            let gvk: JSONValue = .object(["group": .string(KubeObject.group), "version": "v1", "kind": .string(kind.rawValue)])
            let schema = "io.convos.agents.v1.\(kind.rawValue)"
            let ref: JSONValue = .object(["$ref": .string("#/components/schemas/\(schema)")])
            let body: JSONValue = .object(["application/json": .object(["schema": ref])])
            let ok: JSONValue = .object(["200": .object(["description": "OK", "content": body])])
            let name: JSONValue = .object(["name": "name", "in": "path", "required": true, "schema": .object(["type": "string"])])
            let query = { (n: String) -> JSONValue in .object(["name": .string(n), "in": "query", "schema": .object(["type": "string"])]) }
            let writeParameters: [JSONValue] = [query("dryRun"), query("fieldValidation"), query("fieldManager")]
            paths["/apis/agents.convos.org/v1/\(kind.plural)"] = .object([
                "get": .object(["operationId": .string("list\(kind.rawValue)"), "x-kubernetes-action": "list",
                                "x-kubernetes-group-version-kind": gvk, "responses": ok,
                                "parameters": .array(["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
                                                      "watch", "timeoutSeconds"].map(query))]),
                "post": .object(["operationId": .string("create\(kind.rawValue)"), "x-kubernetes-action": "post",
                                 "x-kubernetes-group-version-kind": gvk, "parameters": .array(writeParameters),
                                 "requestBody": .object(["content": body, "required": true]), "responses": ok]),
            ])
            paths["/apis/agents.convos.org/v1/\(kind.plural)/{name}"] = .object([
                "parameters": .array([name]),
                "get": .object(["operationId": .string("read\(kind.rawValue)"), "x-kubernetes-action": "get",
                                "x-kubernetes-group-version-kind": gvk, "responses": ok]),
                "put": .object(["operationId": .string("replace\(kind.rawValue)"), "x-kubernetes-action": "put",
                                "x-kubernetes-group-version-kind": gvk, "parameters": .array(writeParameters),
                                "requestBody": .object(["content": body, "required": true]), "responses": ok]),
                "patch": .object(["operationId": .string("patch\(kind.rawValue)"), "x-kubernetes-action": "patch",
                                  "x-kubernetes-group-version-kind": gvk, "parameters": .array(writeParameters),
                                  "requestBody": .object(["content": .object([
                                      "application/merge-patch+json": .object(["schema": .object(["type": "object"])]),
                                      "application/json-patch+json": .object(["schema": .object(["type": "array"])]),
                                  ]), "required": true]), "responses": ok]),
                "delete": .object(["operationId": .string("delete\(kind.rawValue)"), "x-kubernetes-action": "delete",
                                   "x-kubernetes-group-version-kind": gvk, "parameters": .array([query("dryRun")]), "responses": ok]),
            ])
            schemas[schema] = .object([
                "type": "object", "required": ["spec"],
                "x-kubernetes-group-version-kind": .array([gvk]),
                "properties": .object([
                    "apiVersion": .object(["type": "string"]), "kind": .object(["type": "string"]),
                    "metadata": .object(["type": "object", "x-kubernetes-preserve-unknown-fields": true]),
                    "spec": .object(["type": "object", "x-kubernetes-preserve-unknown-fields": true]),
                    "status": .object(["type": "object", "x-kubernetes-preserve-unknown-fields": true]),
                ]),
            ])
        }
        return .object([
            "openapi": "3.0.0",
            "info": .object(["title": "convos-controller", "version": "v1"]),
            "paths": .object(paths),
            "components": .object(["schemas": .object(schemas)]),
        ])
    }()
}
