import Foundation
import Resources

/// The OpenAPI 3 description of the HTTP API, served at `GET /openapi.json`. Written by hand,
/// route by route; a test checks it against the router's table both ways, and `scripts/fuzz` runs
/// schemathesis against it.
///
/// The schemas state what the server enforces by shape: required fields, types, enums and the
/// name patterns. They are never stricter than the server (a request they call invalid is refused
/// with a 4xx), but some rules cannot be written in JSON Schema: byte lengths, "no control
/// characters", `minIdle <= maxInstances`, references to other objects. Those come back as 400 or
/// 422 naming the field.
enum OpenAPIDocument {
    struct Operation {
        let method: String
        let path: String          // OpenAPI form: /v1/{kind}/{name}
        let summary: String
        var body: Body? = nil
        let responses: [Int]
        /// Path parameter name to schema, for those more precise than a string.
        var parameters: [String: JSONValue] = [:]
    }

    /// A request body: the media types accepted and the schema (a component name) of each.
    struct Body {
        let types: [String]
        let schema: String
        var required = true
    }

    static let name = ref("Name")
    static let kinds = JSONValue.object(["type": "string", "enum": ["pools", "agenttemplates", "agents"]])
    static let tools = JSONValue.object(["type": "string", "enum": ["openrouter", "agentmail", "telnyx", "bankr"]])

    static let operations: [Operation] = [
        .init(method: "GET", path: "/", summary: "Dashboard (HTML)", responses: [200]),
        .init(method: "GET", path: "/healthz", summary: "Liveness", responses: [200]),
        .init(method: "GET", path: "/readyz", summary: "Readiness: database reachable, schema current", responses: [200, 503]),
        .init(method: "GET", path: "/metrics", summary: "Prometheus metrics", responses: [200]),
        .init(method: "GET", path: "/status", summary: "Monitoring summary", responses: [200, 401]),
        .init(method: "GET", path: "/openapi.json", summary: "This document", responses: [200]),
        .init(method: "POST", path: "/v1/apply", summary: "Apply YAML or JSON objects in one transaction; dryRun=true writes nothing",
              body: Body(types: ["application/yaml", "application/json"], schema: "ApplyRequest"), responses: [200, 400, 401, 409, 413, 415, 422, 503]),
        .init(method: "GET", path: "/v1/instances", summary: "List instances", responses: [200, 401]),
        .init(method: "GET", path: "/v1/instances/{name}", summary: "One instance", responses: [200, 401, 404]),
        .init(method: "GET", path: "/v1/{kind}", summary: "List pools, agenttemplates or agents", responses: [200, 401, 404], parameters: ["kind": kinds]),
        .init(method: "GET", path: "/v1/{kind}/{name}", summary: "One object with its status", responses: [200, 401, 404],
              parameters: ["kind": kinds, "name": name]),
        .init(method: "DELETE", path: "/v1/{kind}/{name}", summary: "Delete; an agent goes Terminating", responses: [200, 202, 401, 404, 409],
              parameters: ["kind": kinds, "name": name]),
        .init(method: "GET", path: "/api/pool/templates", summary: "List templates (seed shape)", responses: [200, 401]),
        .init(method: "POST", path: "/api/pool/templates", summary: "Create a template",
              body: Body(types: ["application/json"], schema: "NewTemplate"), responses: [201, 400, 401, 409, 415]),
        .init(method: "GET", path: "/api/pool/templates/{id}", summary: "One template", responses: [200, 401, 404], parameters: ["id": name]),
        .init(method: "PUT", path: "/api/pool/templates/{id}", summary: "Replace a template; bumps the generation and syncs agents",
              body: Body(types: ["application/json"], schema: "Template"), responses: [200, 400, 401, 404, 415], parameters: ["id": name]),
        .init(method: "DELETE", path: "/api/pool/templates/{id}", summary: "Delete a template not in use", responses: [200, 401, 404, 409],
              parameters: ["id": name]),
        .init(method: "POST", path: "/api/pool/claim", summary: "Claim an agent: 200 bound at once, 202 waiting",
              body: Body(types: ["application/json"], schema: "ClaimRequest"), responses: [200, 202, 400, 401, 415, 422, 503]),
        .init(method: "POST", path: "/status/batch", summary: "Services: the status of many instances in one call",
              body: Body(types: ["application/json"], schema: "StatusBatchRequest"), responses: [200, 400, 401, 503]),
        .init(method: "POST", path: "/create-instance", summary: "Services: a Railway project for the instance",
              body: Body(types: ["application/json"], schema: "CreateInstanceRequest"), responses: [200, 400, 401, 409, 503]),
        .init(method: "POST", path: "/provision/{instance}/{tool}", summary: "Services: provision one tool",
              body: Body(types: ["application/json"], schema: "ToolOptions", required: false), responses: [200, 400, 401, 404, 409, 503],
              parameters: ["tool": tools]),
        .init(method: "DELETE", path: "/instances/{instance}", summary: "Services: teardown in the seed's order", responses: [200, 400, 401, 503]),
    ]

    static let publicPaths: Set<String> = ["/", "/healthz", "/readyz", "/metrics", "/openapi.json"]

    static var json: JSONValue {
        var paths: [String: JSONValue] = [:]
        for op in operations {
            var o: [String: JSONValue] = [
                "summary": .string(op.summary),
                "operationId": .string(op.method.lowercased() + op.path.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "").replacingOccurrences(of: ".", with: "_")),
                "responses": .object(Dictionary(uniqueKeysWithValues: op.responses.map { code in
                    (String(code), code < 300 ? .object(["description": "success"])
                                              : .object(["description": "error", "content": .object(["application/json": .object(["schema": ref("Error")])])]))
                })),
            ]
            let parameters = op.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { p in
                let name = String(p.dropFirst().dropLast())
                return JSONValue.object(["name": .string(name), "in": "path", "required": true, "schema": op.parameters[name] ?? .object(["type": "string"])])
            }
            if !parameters.isEmpty { o["parameters"] = .array(parameters) }
            if op.path == "/v1/apply" {
                o["parameters"] = .array([.object(["name": "dryRun", "in": "query", "required": false, "schema": .object(["type": "boolean"])])])
            }
            if let body = op.body {
                o["requestBody"] = .object(["required": .bool(body.required), "content": .object(Dictionary(uniqueKeysWithValues: body.types.map {
                    ($0, JSONValue.object(["schema": ref(body.schema)]))
                }))])
            }
            if publicPaths.contains(op.path) { o["security"] = .array([]) }
            var entry = paths[op.path]?.objectValue ?? [:]
            entry[op.method.lowercased()] = .object(o)
            paths[op.path] = .object(entry)
        }
        return .object([
            "openapi": "3.0.3",
            "info": .object(["title": "convos-controller", "version": "1.0.0",
                             "description": "Control plane for the Convos agents platform (CONTRACT.md section 4 and 5)."]),
            "paths": .object(paths),
            "security": .array([.object(["bearer": .array([])])]),
            "components": .object(["schemas": schemas,
                                   "securitySchemes": .object(["bearer": .object(["type": "http", "scheme": "bearer"])])]),
        ])
    }

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    /// Request shapes and the error shape. `nullable` where the server takes null for "absent".
    static let schemas: JSONValue = {
        do { return try JSONDecoder().decode(JSONValue.self, from: Data(schemaText.utf8)) } catch { fatalError("OpenAPIDocument.schemaText: \(error)") }
    }()

    static let schemaText = #"""
    {
      "Name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", "description": "a lowercase DNS label"},
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "required": ["path", "message"], "properties": {
          "path": {"type": "string"}, "message": {"type": "string"}, "object": {"type": "string"},
          "line": {"type": "integer"}, "column": {"type": "integer"}}}}}}}},
      "Manifest": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "properties": {
        "apiVersion": {"type": "string", "enum": ["agents.convos.org/v1"]},
        "kind": {"type": "string", "enum": ["Pool", "AgentTemplate", "Agent"]},
        "metadata": {"type": "object", "required": ["name"], "properties": {
          "name": {"$ref": "#/components/schemas/Name"},
          "labels": {"type": "object", "additionalProperties": {"type": "string"}},
          "resourceVersion": {"type": "string"}}},
        "spec": {"type": "object", "description": "PoolSpec, AgentTemplateSpec or AgentSpec, by kind (CONTRACT.md section 3)"}}},
      "ApplyRequest": {"description": "one object, a list of objects, or a List with items", "anyOf": [
        {"$ref": "#/components/schemas/Manifest"},
        {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Manifest"}},
        {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Manifest"}}}}]},
      "Template": {"type": "object", "required": ["model"], "properties": {
        "id": {"$ref": "#/components/schemas/Name"}, "displayName": {"type": "string"}, "model": {"type": "string"},
        "instructions": {"type": "string"}, "tools": {"type": "object", "properties": {
          "openrouter": {"type": "object", "properties": {"creditLimitUsd": {"type": "number"}}},
          "agentmail": {"type": "object"}, "telnyx": {"type": "object", "properties": {"country": {"type": "string"}}},
          "bankr": {"type": "object"}}}}},
      "NewTemplate": {"allOf": [{"$ref": "#/components/schemas/Template"}, {"type": "object", "required": ["id"]}]},
      "ClaimRequest": {"type": "object", "required": ["templateId", "ownerId"], "properties": {
        "templateId": {"$ref": "#/components/schemas/Name"}, "ownerId": {"type": "string"},
        "cloneFrom": {"type": "string", "nullable": true, "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"}}},
      "StatusBatchRequest": {"type": "object", "required": ["instanceIds"], "properties": {
        "instanceIds": {"type": "array", "items": {"type": "string"}}}},
      "CreateInstanceRequest": {"type": "object", "required": ["instanceId", "image"], "properties": {
        "instanceId": {"type": "string"}, "image": {"type": "string"}}},
      "ToolOptions": {"type": "object", "properties": {
        "creditLimitUsd": {"type": "number", "nullable": true}, "country": {"type": "string", "nullable": true},
        "displayName": {"type": "string", "nullable": true}}}
    }
    """#
}

extension JSONValue {
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
}
