import Foundation
import Resources

/// The OpenAPI 3 description of the HTTP API, served at `GET /openapi.json`. Written by hand,
/// route by route; a test checks it against the router's table both ways.
enum OpenAPIDocument {
    struct Operation {
        let method: String
        let path: String          // OpenAPI form: /v1/{kind}/{name}
        let summary: String
        let body: String?         // request media type
        let responses: [Int]
    }

    static let operations: [Operation] = [
        .init(method: "GET", path: "/", summary: "Dashboard (HTML)", body: nil, responses: [200]),
        .init(method: "GET", path: "/healthz", summary: "Liveness", body: nil, responses: [200]),
        .init(method: "GET", path: "/readyz", summary: "Readiness: database reachable, schema current", body: nil, responses: [200, 503]),
        .init(method: "GET", path: "/metrics", summary: "Prometheus metrics", body: nil, responses: [200]),
        .init(method: "GET", path: "/status", summary: "Monitoring summary", body: nil, responses: [200, 401]),
        .init(method: "GET", path: "/openapi.json", summary: "This document", body: nil, responses: [200]),
        .init(method: "POST", path: "/v1/apply", summary: "Apply YAML or JSON objects in one transaction; dryRun=true writes nothing", body: "application/yaml", responses: [200, 400, 401, 409, 413, 415, 422, 503]),
        .init(method: "GET", path: "/v1/instances", summary: "List instances", body: nil, responses: [200, 401]),
        .init(method: "GET", path: "/v1/instances/{name}", summary: "One instance", body: nil, responses: [200, 401, 404]),
        .init(method: "GET", path: "/v1/{kind}", summary: "List pools, agenttemplates or agents", body: nil, responses: [200, 401, 404]),
        .init(method: "GET", path: "/v1/{kind}/{name}", summary: "One object with its status", body: nil, responses: [200, 401, 404]),
        .init(method: "DELETE", path: "/v1/{kind}/{name}", summary: "Delete; an agent goes Terminating", body: nil, responses: [200, 202, 401, 404, 409]),
        .init(method: "GET", path: "/api/pool/templates", summary: "List templates (seed shape)", body: nil, responses: [200, 401]),
        .init(method: "POST", path: "/api/pool/templates", summary: "Create a template", body: "application/json", responses: [201, 400, 401, 409, 415]),
        .init(method: "GET", path: "/api/pool/templates/{id}", summary: "One template", body: nil, responses: [200, 401, 404]),
        .init(method: "PUT", path: "/api/pool/templates/{id}", summary: "Replace a template; bumps the generation and syncs agents", body: "application/json", responses: [200, 400, 401, 404, 415]),
        .init(method: "DELETE", path: "/api/pool/templates/{id}", summary: "Delete a template not in use", body: nil, responses: [200, 401, 404, 409]),
        .init(method: "POST", path: "/api/pool/claim", summary: "Claim an agent: 200 bound at once, 202 waiting", body: "application/json", responses: [200, 202, 400, 401, 415, 422]),
        .init(method: "POST", path: "/status/batch", summary: "Services: the status of many instances in one call", body: "application/json", responses: [200, 400, 401, 503]),
        .init(method: "POST", path: "/create-instance", summary: "Services: a Railway project for the instance", body: "application/json", responses: [200, 400, 401, 409, 503]),
        .init(method: "POST", path: "/provision/{instance}/{tool}", summary: "Services: provision one tool", body: "application/json", responses: [200, 401, 404, 409, 503]),
        .init(method: "DELETE", path: "/instances/{instance}", summary: "Services: teardown in the seed's order", body: nil, responses: [200, 400, 401, 503]),
    ]

    static let publicPaths: Set<String> = ["/", "/healthz", "/readyz", "/metrics"]

    static var json: JSONValue {
        var paths: [String: JSONValue] = [:]
        for op in operations {
            var o: [String: JSONValue] = [
                "summary": .string(op.summary),
                "operationId": .string(op.method.lowercased() + op.path.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "").replacingOccurrences(of: ".", with: "_")),
                "responses": .object(Dictionary(uniqueKeysWithValues: op.responses.map { code in
                    (String(code), code < 300 ? .object(["description": .string("success")])
                                              : .object(["description": .string("error"), "content": .object(["application/json": .object(["schema": .object(["$ref": .string("#/components/schemas/Error")])])])]))
                })),
            ]
            let parameters = op.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { p in
                JSONValue.object(["name": .string(String(p.dropFirst().dropLast())), "in": .string("path"), "required": .bool(true), "schema": .object(["type": .string("string")])])
            }
            if !parameters.isEmpty { o["parameters"] = .array(parameters) }
            if let body = op.body { o["requestBody"] = .object(["required": .bool(true), "content": .object([body: .object(["schema": .object(["type": .string("object")])])])]) }
            if publicPaths.contains(op.path) { o["security"] = .array([]) }
            var entry = paths[op.path]?.objectValue ?? [:]
            entry[op.method.lowercased()] = .object(o)
            paths[op.path] = .object(entry)
        }
        let error = JSONValue.object(["type": .string("object"), "required": .array([.string("error")]), "properties": .object([
            "error": .object(["type": .string("object"), "required": .array([.string("code"), .string("message")]), "properties": .object([
                "code": .object(["type": .string("string")]), "message": .object(["type": .string("string")]),
                "details": .object(["type": .string("array"), "items": .object(["type": .string("object"), "properties": .object([
                    "path": .object(["type": .string("string")]), "message": .object(["type": .string("string")])])])]),
            ])]),
        ])])
        return .object([
            "openapi": .string("3.0.3"),
            "info": .object(["title": .string("convos-controller"), "version": .string("1.0.0"),
                             "description": .string("Control plane for the Convos agents platform (CONTRACT.md section 4 and 5).")]),
            "paths": .object(paths),
            "security": .array([.object(["bearer": .array([])])]),
            "components": .object(["schemas": .object(["Error": error]),
                                   "securitySchemes": .object(["bearer": .object(["type": .string("http"), "scheme": .string("bearer")])])]),
        ])
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
}
