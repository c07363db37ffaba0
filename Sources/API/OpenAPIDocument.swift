import Foundation
import Resources
import Services

/// The OpenAPI 3 description of the HTTP API, served at `GET /openapi.json`. Written by hand,
/// route by route; a test checks it against the router's table both ways, and `scripts/fuzz` runs
/// schemathesis against it.
///
/// The schemas state what the server enforces by shape: required fields, types, enums and the
/// name patterns. They are never stricter than the server (a request they call invalid is refused
/// with a 4xx), but some rules cannot be written in JSON Schema: byte lengths, "no control
/// characters", `minIdle <= maxInstances`, references to other objects. Those come back as 400 or
/// 422 naming the field.
package enum OpenAPIDocument {
    package struct Operation {
        package let method: String
        package let path: String          // OpenAPI form: /v1/{kind}/{name}
        package let summary: String
        package var body: Body? = nil
        package let responses: [Int]
        /// Path parameter name to schema, for those more precise than a string.
        package var parameters: [String: JSONValue] = [:]
        /// The schema of its error answers: the API's `Error`, or today's pool's `RuntimeError`.
        package var errorSchema = "Error"
    }

    /// A request body: the media types accepted and the schema (a component name) of each.
    package struct Body {
        package let types: [String]
        package let schema: String
        package var required = true
    }

    package static let name = ref("Name")
    package static let kinds = JSONValue.object(["type": "string", "enum": ["pools", "agenttemplates", "agents", "coupons"]])
    package static let tools = JSONValue.object(["type": "string", "enum": ["openrouter", "email", "sms", "crypto"]])
    package static let json_ = ["application/json"]

    package static let operations: [Operation] = [
        .init(method: "GET", path: "/", summary: "The dashboard, a single page (HTML; strict Content-Security-Policy)", responses: [200]),
        .init(method: "GET", path: "/healthz", summary: "Liveness", responses: [200]),
        .init(method: "GET", path: "/readyz", summary: "Readiness: database reachable, schema current", responses: [200, 503]),
        .init(method: "GET", path: "/metrics", summary: "Prometheus metrics", responses: [200]),
        .init(method: "GET", path: "/status", summary: "Monitoring summary", responses: [200, 401]),
        .init(method: "GET", path: "/openapi.json", summary: "This document", responses: [200]),
        .init(method: "POST", path: "/v1/apply", summary: "Apply YAML or JSON objects in one transaction; dryRun=true writes nothing and lists plannedActions",
              body: Body(types: ["application/yaml", "application/json"], schema: "ApplyRequest"), responses: [200, 400, 401, 409, 413, 415, 422, 503]),
        .init(method: "GET", path: "/v1/events", summary: "Recent events, newest first; kind, name and limit filter them", responses: [200, 400, 401]),
        .init(method: "GET", path: "/v1/instances", summary: "List instances", responses: [200, 401]),
        .init(method: "GET", path: "/v1/instances/{name}", summary: "One instance", responses: [200, 401, 404]),
        .init(method: "POST", path: "/v1/pools/{name}/rollout/{command}", summary: "Pause, resume or undo a pool's rollout to its claimed agents",
              responses: [200, 401, 404, 409], parameters: ["command": .object(["type": "string", "enum": ["pause", "resume", "undo"]])]),
        .init(method: "GET", path: "/v1/{kind}", summary: "List pools, agenttemplates, agents or coupons", responses: [200, 401, 404], parameters: ["kind": kinds]),
        .init(method: "GET", path: "/v1/{kind}/{name}", summary: "One object with its status", responses: [200, 401, 404],
              parameters: ["kind": kinds, "name": name]),
        .init(method: "DELETE", path: "/v1/{kind}/{name}", summary: "Delete; an agent goes Terminating", responses: [200, 202, 401, 404, 409],
              parameters: ["kind": kinds, "name": name]),
        .init(method: "GET", path: "/api/pool/counts", summary: "The claim pool's counts: idle, starting, claimed, crashed (public)", responses: [200]),
        .init(method: "GET", path: "/api/pool/agents", summary: "The claim pool's instances by state", responses: [200, 401]),
        .init(method: "GET", path: "/api/pool/templates", summary: "List templates (seed shape); ?visibility=public is the public store",
              responses: [200, 400, 401]),
        .init(method: "POST", path: "/api/pool/templates", summary: "Create a template",
              body: Body(types: json_, schema: "NewTemplate"), responses: [201, 400, 401, 409, 415]),
        .init(method: "GET", path: "/api/pool/templates/{id}", summary: "One template", responses: [200, 401, 404], parameters: ["id": name]),
        .init(method: "PUT", path: "/api/pool/templates/{id}", summary: "Replace a template; bumps the generation and syncs agents",
              body: Body(types: json_, schema: "Template"), responses: [200, 400, 401, 404, 415], parameters: ["id": name]),
        .init(method: "PATCH", path: "/api/pool/templates/{id}/visibility", summary: "Publish or unpublish a template",
              body: Body(types: json_, schema: "VisibilityRequest"), responses: [200, 400, 401, 404, 409, 415], parameters: ["id": name]),
        .init(method: "DELETE", path: "/api/pool/templates/{id}", summary: "Delete a template not in use", responses: [200, 401, 404, 409],
              parameters: ["id": name]),
        .init(method: "POST", path: "/api/pool/claim", summary: "Claim an agent: 200 bound (with its invite once configured within the wait), 202 waiting",
              body: Body(types: json_, schema: "ClaimRequest"), responses: [200, 202, 400, 401, 415, 422, 503]),
        .init(method: "POST", path: "/status/batch", summary: "Services: the seed's four states of many instances in one call",
              body: Body(types: json_, schema: "StatusBatchRequest"), responses: [200, 400, 401, 503]),
        .init(method: "POST", path: "/status/observed", summary: "Services: keep the deployment statuses a status batch saw (the batch itself writes nothing)",
              body: Body(types: json_, schema: "ObservedRequest"), responses: [200, 400, 401, 503]),
        .init(method: "POST", path: "/prune-variables/{instance}", summary: "Services: remove, once, the variables the contract does not list",
              body: Body(types: json_, schema: "ProxyBody", required: false), responses: [200, 400, 401, 404, 409, 502, 503]),
        .init(method: "GET", path: "/conversation/{instance}", summary: "Services: the runtime's /convos/status (state null for a seed-era runtime)",
              responses: [200, 401, 404, 409, 502, 503]),
        .init(method: "POST", path: "/hand-over/{instance}", summary: "Services: hand the instance's undelivered variables to its runtime",
              responses: [200, 400, 401, 503]),
        .init(method: "POST", path: "/remove-strays/{instance}", summary: "Services: delete a second Railway project of the instance's name",
              responses: [200, 400, 401, 502, 503]),
        .init(method: "POST", path: "/upgrade/{instance}", summary: "Services: the runtime to another digest, its variables reconciled, one patch commit",
              responses: [200, 400, 401, 404, 502, 503]),
        .init(method: "POST", path: "/stock-numbers", summary: "Services: one round of keeping TELNYX_SPARE_NUMBERS numbers ordered ahead",
              responses: [200, 401, 502, 503]),
        .init(method: "POST", path: "/audit-tools", summary: "Services: look for tools deleted at their providers, in the background",
              responses: [200, 401, 503]),
        .init(method: "POST", path: "/create-instance", summary: "Services: project, volume, domain, key, wallet; one deployment",
              body: Body(types: json_, schema: "CreateInstanceRequest"), responses: [200, 400, 401, 409, 503]),
        .init(method: "DELETE", path: "/destroy/{instance}", summary: "Services: teardown in the seed's order", responses: [200, 400, 401, 502, 503]),
        .init(method: "POST", path: "/redeploy/{instance}", summary: "Services: deploy another image",
              body: Body(types: json_, schema: "RedeployRequest", required: false), responses: [200, 400, 401, 404, 409, 503]),
        .init(method: "POST", path: "/provision/{instance}/{tool}", summary: "Services: provision one tool and hand it to the running agent",
              body: Body(types: json_, schema: "ProvisionRequest", required: false), responses: [200, 202, 400, 401, 403, 404, 409, 502, 503],
              parameters: ["tool": tools]),
        .init(method: "DELETE", path: "/destroy/{instance}/{tool}/{resource}", summary: "Services: remove one tool resource",
              responses: [200, 401, 404, 502, 503], parameters: ["tool": tools]),
        .init(method: "POST", path: "/configure/{instance}", summary: "Services: the runtime's /pool/provision; answers the conversation",
              body: Body(types: json_, schema: "ConfigureRequest"), responses: [200, 400, 401, 404, 409, 502, 503]),
        .init(method: "POST", path: "/update-template/{instance}", summary: "Services: the runtime's /pool/update-template (supported false on a 404)",
              body: Body(types: json_, schema: "ConfigureRequest"), responses: [200, 400, 401, 404, 409, 502, 503]),
        .init(method: "POST", path: "/clone-summary/{instance}", summary: "Services: the parent runtime's /pool/clone-summary",
              body: Body(types: json_, schema: "CloneSummaryRequest"), responses: [200, 400, 401, 404, 409, 502, 503]),
        .init(method: "GET", path: "/registry", summary: "Services: the tools and how each is provisioned", responses: [200, 401]),
        .init(method: "PUT", path: "/user-config/{agent}", summary: "Services: keep a claim's userConfig until the agent goes",
              body: Body(types: json_, schema: "UserConfigRequest"), responses: [200, 400, 401]),
        .init(method: "DELETE", path: "/user-config/{agent}", summary: "Services: forget an agent's userConfig", responses: [200, 401]),
        .init(method: "GET", path: "/app/{file}", summary: "The dashboard's styles and ES modules (app.css, app.js, lib.js, ...)", responses: [200, 404]),
        .init(method: "POST", path: "/ui/session", summary: "Sign in: the controller's token for an HttpOnly session cookie and its CSRF token",
              body: Body(types: json_, schema: "SessionRequest"), responses: [200, 401]),
        .init(method: "GET", path: "/ui/session", summary: "Whether the session cookie is signed in, with its CSRF token", responses: [200]),
        .init(method: "DELETE", path: "/ui/session", summary: "Sign out (X-CSRF-Token required with a live session)", responses: [200, 403]),
        .init(method: "POST", path: "/webhooks/agentmail", summary: "AgentMail's events (public; Svix-signed with AGENTMAIL_WEBHOOK_SECRET)",
              body: Body(types: json_, schema: "ProxyBody"), responses: [200, 401, 503], errorSchema: "RuntimeError"),
        .init(method: "POST", path: "/webhooks/telnyx", summary: "Telnyx's events (public; Ed25519-signed, verified with TELNYX_PUBLIC_KEY)",
              body: Body(types: json_, schema: "ProxyBody"), responses: [200, 401, 503], errorSchema: "RuntimeError"),
        .init(method: "GET", path: "/.well-known/agents.json", summary: "The JWKS of the key that signs agents' attestations (public)", responses: [200]),
        .init(method: "POST", path: "/webhooks/railway/{secret}", summary: "Railway deployment events (public; the secret in the path is the check)",
              body: Body(types: json_, schema: "RailwayEvent"), responses: [200, 400, 404], parameters: ["secret": .object(["type": "string"])]),
    ]

    /// The runtimes' own routes (CONTRACT.md section 8), each with its instance credentials in the body.
    static let runtimeOperations: [Operation] = [
        ("self-info", "its runtime version and image, and its pool's latest image"),
        ("self-upgrade", "move to the pool's current digest now"),
        ("self-destruct", "the agent is deleted (ordered teardown)"),
        ("credits-check", "its OpenRouter key's limit and usage"),
        ("credits-topup", "raise its key's limit within the template's topUp policy"),
        ("redeem-coupon", "redeem a Coupon's code, once per agent"),
        ("attest", "an Ed25519 attestation of its own XMTP inbox id"),
        ("pending-acceptance/complete", "the join was accepted"),
        ("pending-acceptance/fail", "the join was refused"),
    ].map { route, summary in
        Operation(method: "POST", path: "/api/pool/" + route, summary: "Runtime self-service: " + summary,
                  body: Body(types: json_, schema: "SelfServiceRequest"), responses: runtimeResponses, errorSchema: "RuntimeError")
    }

    /// The services proxy (CONTRACT.md section 8): `Authorization: Bearer INSTANCE_ID:GATEWAY_TOKEN`.
    static let proxyOperations: [Operation] = [
        ("GET", "info", "the instance's own inbox and number"), ("POST", "email/send", "AgentMail's send, from its own inbox"),
        ("GET", "email/messages", "its inbox's messages"), ("GET", "email/threads", "its inbox's threads"),
        ("GET", "email/messages/{id}", "one message of its inbox"), ("PATCH", "email/messages/{id}", "a message's labels"),
        ("POST", "sms/send", "a text from its own number"), ("GET", "sms/records", "its number's message records"),
        ("GET", "sms/messages/{id}", "one message of its number"), ("POST", "email/provision", "its inbox, made on first use"),
        ("POST", "email/unprovision", "its inbox, released"), ("POST", "sms/provision", "its number, made on first use"),
        ("POST", "sms/unprovision", "its number, released"),
    ].map { method, route, summary in
        Operation(method: method, path: "/api/proxy/" + route, summary: "Services proxy: " + summary,
                  body: method == "GET" ? nil : Body(types: json_, schema: "ProxyBody", required: false),
                  responses: [200, 400, 401, 403, 404, 409, 422, 429, 502, 503], errorSchema: "RuntimeError")
    }

    package static let publicPaths: Set<String> = Set(["/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/api/pool/counts", "/webhooks/railway/{secret}",
                                                       "/ui/session", "/app/{file}", "/.well-known/agents.json", "/webhooks/agentmail", "/webhooks/telnyx"])
        .union(APIAuth.runtimePatterns.map { $0.replacingOccurrences(of: ":id", with: "{id}") })

    /// The runtime routes' answers: their own instance credentials, not a bearer token.
    static let runtimeResponses = [200, 400, 403, 404, 409, 429, 502, 503]

    package static var json: JSONValue {
        var paths: [String: JSONValue] = [:]
        for op in operations + runtimeOperations + proxyOperations {
            var o: [String: JSONValue] = [
                "summary": .string(op.summary),
                "operationId": .string(op.method.lowercased() + op.path.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "").replacingOccurrences(of: ".", with: "_")),
                "responses": .object(Dictionary(uniqueKeysWithValues: op.responses.map { code in
                    (String(code), code < 300 ? .object(["description": "success"])
                                              : .object(["description": "error", "content": .object(["application/json": .object(["schema": ref(op.errorSchema)])])]))
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
            if op.path == "/v1/events" {
                o["parameters"] = .array([
                    .object(["name": "kind", "in": "query", "required": false,
                             "schema": .object(["type": "string"])]),
                    .object(["name": "name", "in": "query", "required": false, "schema": .object(["type": "string", "minLength": .int(1), "maxLength": .int(253)])]),
                    .object(["name": "limit", "in": "query", "required": false, "schema": .object(["type": "integer", "minimum": .int(1), "maximum": .int(1000)])]),
                ])
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

    package static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    /// Request shapes and the error shape. `nullable` where the server takes null for "absent".
    package static let schemas: JSONValue = {
        do { return try JSONDecoder().decode(JSONValue.self, from: Data(schemaText.utf8)) } catch { fatalError("OpenAPIDocument.schemaText: \(error)") }
    }()

    package static let schemaText = #"""
    {
      "Name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", "description": "a lowercase DNS label"},
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "required": ["path", "message"], "properties": {
          "path": {"type": "string"}, "message": {"type": "string"}, "object": {"type": "string"},
          "line": {"type": "integer"}, "column": {"type": "integer"}}}}}}}},
      "Manifest": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "properties": {
        "apiVersion": {"type": "string", "enum": ["agents.convos.org/v1"]},
        "kind": {"type": "string", "enum": ["Pool", "AgentTemplate", "Agent", "Coupon"]},
        "metadata": {"type": "object", "required": ["name"], "properties": {
          "name": {"$ref": "#/components/schemas/Name"},
          "labels": {"type": "object", "additionalProperties": {"type": "string"}},
          "resourceVersion": {"type": "string"}}},
        "spec": {"type": "object", "description": "PoolSpec, AgentTemplateSpec, AgentSpec or CouponSpec, by kind (CONTRACT.md section 3)"}}},
      "ApplyRequest": {"description": "one object, a list of objects, or a List with items", "anyOf": [
        {"$ref": "#/components/schemas/Manifest"},
        {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Manifest"}},
        {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Manifest"}}}}]},
      "Tool": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string", "enum": ["email", "sms", "crypto"]}, "provisioning": {"type": "string", "enum": ["pool", "user"]},
        "options": {"type": "object", "additionalProperties": {"type": "string"}}}},
      "Template": {"type": "object", "required": ["agentName", "instructions"], "properties": {
        "id": {"$ref": "#/components/schemas/Name"}, "agentName": {"type": "string"}, "instructions": {"type": "string"},
        "model": {"type": "object", "required": ["default"], "properties": {"default": {"type": "string"}, "allowOverride": {"type": "boolean"}}},
        "visibility": {"type": "string", "enum": ["private", "public"]}, "creatorId": {"type": "string"},
        "tools": {"type": "array", "items": {"$ref": "#/components/schemas/Tool"}},
        "openrouter": {"type": "object", "properties": {"limitUsd": {"type": "number"}, "limitReset": {"type": "string", "enum": ["daily", "weekly", "monthly"]}}}}},
      "NewTemplate": {"allOf": [{"$ref": "#/components/schemas/Template"}, {"type": "object", "required": ["id"]}]},
      "VisibilityRequest": {"type": "object", "required": ["visibility"], "properties": {"visibility": {"type": "string", "enum": ["private", "public"]}}},
      "ClaimRequest": {"type": "object", "properties": {
        "templateId": {"type": "string", "nullable": true, "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
        "ownerId": {"type": "string", "nullable": true}, "agentName": {"type": "string", "nullable": true},
        "instructions": {"type": "string", "nullable": true}, "joinUrl": {"type": "string", "nullable": true},
        "model": {"type": "string", "nullable": true},
        "userConfig": {"type": "object", "nullable": true, "additionalProperties": {"type": "string"}},
        "cloneFrom": {"type": "string", "nullable": true, "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"}}},
      "StatusBatchRequest": {"type": "object", "required": ["instanceIds"], "properties": {
        "instanceIds": {"type": "array", "items": {"type": "string"}}}},
      "ObservedRequest": {"type": "object", "required": ["deployStatuses"], "properties": {
        "deployStatuses": {"type": "object", "additionalProperties": {"type": "string"}}}},
      "CreateInstanceRequest": {"type": "object", "required": ["instanceId"], "properties": {
        "instanceId": {"type": "string"}, "image": {"type": "string", "nullable": true}}},
      "RailwayEvent": {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string"}, "resource": {"type": "object", "properties": {
          "service": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}},
      "RedeployRequest": {"type": "object", "properties": {"image": {"type": "string", "nullable": true}}},
      "ProvisionRequest": {"type": "object", "properties": {
        "userConfig": {"type": "object", "nullable": true, "additionalProperties": {"type": "string"}},
        "agent": {"type": "string", "nullable": true}, "provisioning": {"type": "string", "nullable": true, "enum": ["pool", "user"]},
        "options": {"type": "object", "nullable": true, "properties": {
          "limitUsd": {"type": "number", "nullable": true}, "limitReset": {"type": "string", "nullable": true},
          "country": {"type": "string", "nullable": true}, "displayName": {"type": "string", "nullable": true}}}}},
      "ConfigureRequest": {"type": "object", "required": ["agentName", "instructions"], "properties": {
        "agentName": {"type": "string"}, "instructions": {"type": "string"}, "model": {"type": "string", "nullable": true},
        "joinUrl": {"type": "string", "nullable": true}}},
      "CloneSummaryRequest": {"type": "object", "required": ["childAgent", "childInstanceId"], "properties": {
        "childAgent": {"type": "string"}, "childInstanceId": {"type": "string"}, "childUrl": {"type": "string", "nullable": true}}},
      "SessionRequest": {"type": "object", "properties": {"token": {"type": "string"}}},
      "RuntimeError": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "limit": {"type": "number"}, "max": {"type": "number"}}},
      "ProxyBody": {"type": "object"},
      "SelfServiceRequest": {"type": "object", "required": ["instanceId", "gatewayToken"], "properties": {
        "instanceId": {"type": "string"}, "gatewayToken": {"type": "string"}, "inboxId": {"type": "string"},
        "conversationId": {"type": "string"}, "code": {"type": "string"}}},
      "UserConfigRequest": {"type": "object", "required": ["userConfig"], "properties": {
        "userConfig": {"type": "object", "additionalProperties": {"type": "string"}}}}
    }
    """#
}

extension JSONValue {
}
