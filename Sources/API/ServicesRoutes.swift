import Foundation
import Sync
import HTTPServer
import Providers
import Resources
import YAML
import Services

/// The services API of CONTRACT.md section 5, served where the services run (in process). Bodies
/// are checked here; a bad one is a 400 naming its field, and changes nothing.
extension ControllerAPI {
    package func addServicesRoutes(_ router: inout Router) {
        guard let services = self.services else { return }
        router.add("POST", "/create-instance") { request in
            struct Body: Decodable { let instanceId: String; let image: String?; let env: [String: String]? }
            let body = try Self.body(Body.self, request, expected: #"{"instanceId", "image"?, "env"?}"#)
            try Self.check(Self.imageErrors(body.image))
            try Self.check((body.env ?? [:]).sorted { $0.key < $1.key }.flatMap { RuntimeVariables.checkPoolVariable($0.key, $0.value, at: "env.\($0.key)") })
            return .json(try await Self.services { try await services.createInstance(body.instanceId, image: body.image, env: body.env ?? [:]) })
        }
        router.add("DELETE", "/destroy/:instance") { request in
            let id = request.pathParameters["instance"]!
            try await Self.services { try await services.destroy(id) }
            return .json(["ok": true])
        }
        router.add("POST", "/status/batch") { request in
            struct Body: Decodable { let instanceIds: [String] }
            let body = try Self.body(Body.self, request, expected: #"{"instanceIds": [...]}"#)
            return .json(try await Self.services { try await services.statusBatch(body.instanceIds) })
        }
        router.add("POST", "/status/observed") { request in
            struct Body: Decodable { let deployStatuses: [String: String] }
            let body = try Self.body(Body.self, request, expected: #"{"deployStatuses": {"ID": "SUCCESS", ...}}"#)
            let statuses = body.deployStatuses.compactMapValues(DeployStatus.init(rawValue:))
            try await Self.services { try await services.recordObserved(statuses) }
            return .json(["ok": true])
        }
        router.add("POST", "/hand-over/:instance") { request in
            try await Self.services { try await services.handOver(request.pathParameters["instance"]!) }
            return .json(["ok": true])
        }
        router.add("POST", "/remove-strays/:instance") { request in
            try await Self.services { try await services.removeStrays(request.pathParameters["instance"]!) }
            return .json(["ok": true])
        }
        router.add("POST", "/stock-numbers") { _ in
            let pending = try await Self.services { try await services.stockNumbers() }
            return .json(["pending": pending])
        }
        router.add("POST", "/audit-tools") { _ in
            try await Self.services { try await services.auditTools() }
            return .json(["ok": true])
        }
        router.add("POST", "/redeploy/:instance") { request in
            struct Body: Decodable { let image: String? }
            let body = request.body.isEmpty ? Body(image: nil) : try Self.body(Body.self, request, expected: #"{"image"?}"#)
            try Self.check(Self.imageErrors(body.image))
            try await Self.services { try await services.redeploy(request.pathParameters["instance"]!, image: body.image) }
            return .json(["ok": true])
        }
        router.add("POST", "/provision/:instance/:tool") { request in
            let tool = try Self.tool(request)
            let body = request.body.isEmpty ? ProvisionRequest() : try Self.body(ProvisionRequest.self, request, expected: #"{"userConfig"?}"#)
            try Self.check(UserConfig.validateShape(body.userConfig ?? [:]) + (body.agent.map { Check.dnsLabel($0, at: "agent") } ?? []))
            let result = try await Self.services { try await services.provision(request.pathParameters["instance"]!, tool: tool, body) }
            return .json(result, status: result.state == .pending ? 202 : 200)
        }
        router.add("DELETE", "/destroy/:instance/:tool/:resource") { request in
            let tool = try Self.tool(request)
            let removed = try await Self.services {
                try await services.destroyTool(request.pathParameters["instance"]!, tool: tool, resourceID: request.pathParameters["resource"]!)
            }
            return .json(["ok": true, "removed": removed])
        }
        router.add("POST", "/configure/:instance") { request in
            let body = try Self.configureBody(request)
            return .json(try await Self.services { try await services.configure(request.pathParameters["instance"]!, body) })
        }
        router.add("POST", "/upgrade/:instance") { request in
            struct Body: Decodable { let image: String; let allowed: [String]? }
            let body = try Self.body(Body.self, request, expected: #"{"image", "allowed"?: [...]}"#)
            try Self.check(Self.imageErrors(body.image))
            let removed = try await Self.services {
                try await services.upgrade(request.pathParameters["instance"]!, image: body.image, allowed: body.allowed ?? [])
            }
            return .json(["removed": removed])
        }
        router.add("POST", "/prune-variables/:instance") { request in
            struct Body: Decodable { let allowed: [String]? }
            let body = request.body.isEmpty ? Body(allowed: nil) : try Self.body(Body.self, request, expected: #"{"allowed"?: [...]}"#)
            let removed = try await Self.services { try await services.pruneVariables(request.pathParameters["instance"]!, allowed: body.allowed ?? []) }
            return .json(["removed": removed])
        }
        router.add("GET", "/conversation/:instance") { request in
            struct Answer: Encodable { let state: RuntimeConversationState? }
            return .json(Answer(state: try await Self.services { try await services.conversationState(request.pathParameters["instance"]!) }))
        }
        router.add("POST", "/update-template/:instance") { request in
            let body = try Self.configureBody(request)
            return .json(try await Self.services { try await services.updateTemplate(request.pathParameters["instance"]!, body) })
        }
        router.add("POST", "/clone-summary/:instance") { request in
            let body = try Self.body(CloneSummaryRequest.self, request, expected: #"{"childAgent", "childInstanceId", "childUrl"?}"#)
            return .json(try await Self.services { try await services.cloneSummary(request.pathParameters["instance"]!, body) })
        }
        router.add("GET", "/registry") { _ in .json(try await services.registry()) }
        router.add("PUT", "/user-config/:agent") { request in
            struct Body: Decodable { let userConfig: [String: String] }
            let body = try Self.body(Body.self, request, expected: #"{"userConfig": {...}}"#)
            try Self.check(UserConfig.validateShape(body.userConfig))
            try await Self.services { try await services.storeUserConfig(agent: request.pathParameters["agent"]!, body.userConfig) }
            return .json(["ok": true])
        }
        router.add("DELETE", "/user-config/:agent") { request in
            try await Self.services { try await services.forgetUserConfig(agent: request.pathParameters["agent"]!) }
            return .json(["ok": true])
        }
    }

    package static func tool(_ request: HTTPRequest) throws -> ToolName {
        let text = request.pathParameters["tool"]!
        guard let tool = ToolName(rawValue: text) else {
            throw HTTPError.notFound("no tool \(YAMLNode.quoted(text)); expected \(ToolName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return tool
    }

    /// A 400 naming every field in `errors`; nothing is stored or provisioned for a body with any.
    package static func check(_ errors: [FieldError]) throws {
        guard errors.isEmpty else { throw HTTPError.badRequest("invalid request: \(errors[0].description)", details: errors.map(detail)) }
    }

    package static func imageErrors(_ image: String?) -> [FieldError] {
        guard let image, ImageReference(image) == nil else { return [] }
        return [FieldError("image", "must be an image reference with a registry, like ghcr.io/owner/name@sha256:...")]
    }

    package static func configureBody(_ request: HTTPRequest) throws -> ConfigureRequest {
        let body = try Self.body(ConfigureRequest.self, request, expected: #"{"agentName", "instructions", "model"?, "joinUrl"?}"#)
        var errors = Check.text(body.agentName, at: "agentName", max: 128)
        errors += Check.text(body.instructions, at: "instructions", max: 64 * 1024, multiline: true)
        if let model = body.model { errors += ModelChoice.checkModel(model, at: "model") }
        if let joinUrl = body.joinUrl { errors += Check.url(joinUrl, at: "joinUrl") }
        guard errors.isEmpty else { throw HTTPError.badRequest("invalid body: \(errors[0].description)", details: errors.map(detail)) }
        return body
    }

    /// Decodes a JSON body, or answers 400 naming the field that is missing or of the wrong type.
    package static func body<T: Decodable>(_ type: T.Type, _ request: HTTPRequest, expected: String) throws -> T {
        guard request.contentType == nil || request.contentType == "application/json" else {
            throw HTTPError.unsupportedMediaType("send application/json")
        }
        do {
            return try JSONDecoder().decode(type, from: request.body)
        } catch let error as DecodingError {
            let (path, problem): ([any CodingKey], String)
            switch error {
            case .keyNotFound(let key, let c): (path, problem) = (c.codingPath + [key], "required")
            case .typeMismatch(_, let c), .valueNotFound(_, let c): (path, problem) = (c.codingPath, "has the wrong type")
            case .dataCorrupted(let c) where !c.codingPath.isEmpty: (path, problem) = (c.codingPath, "is not valid")
            default: throw malformedJSON(request.body)
            }
            let field = String(path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[").prefix(256))
            throw HTTPError.badRequest("invalid body: \(field) \(problem); expected \(expected)", details: [.init(path: field, message: problem)])
        } catch {
            throw malformedJSON(request.body)
        }
    }

    /// Maps services errors to the contract's error shape, code kept.
    package static func services<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ServicesError {
            var http = HTTPError(status: error.status, code: error.code.rawValue, message: error.message)
            if let wait = error.retryAfter { http.headers = [("Retry-After", String(Int(ceil(wait.timeInterval))))] }
            throw http
        }
    }
}
