import Foundation
import HTTPServer
import Providers
import Resources

/// The services API of CONTRACT.md section 5, served by the controller for remote callers.
extension API {
    func addServicesRoutes(_ router: inout Router) {
        guard let services = self.services else { return }
        router.add("POST", "/status/batch") { request in
            struct Body: Decodable { let instanceIds: [String] }
            guard let body = try? JSONDecoder().decode(Body.self, from: request.body) else {
                throw HTTPError.badRequest("expected {\"instanceIds\": [...]}", details: [.init(path: "instanceIds", message: "required: a list of instance ids")])
            }
            return .json(try await Self.services { try await services.statusBatch(body.instanceIds) })
        }
        router.add("POST", "/create-instance") { request in
            struct Body: Decodable { let instanceId: String; let image: String }
            guard let body = try? JSONDecoder().decode(Body.self, from: request.body) else {
                throw HTTPError.badRequest("expected {\"instanceId\", \"image\"}", details: [.init(path: "instanceId", message: "required"), .init(path: "image", message: "required")])
            }
            return .json(try await Self.services { try await services.createInstance(body.instanceId, image: body.image) })
        }
        router.add("POST", "/provision/:instance/:tool") { request in
            guard let tool = ToolName(rawValue: request.pathParameters["tool"]!) else {
                throw HTTPError.notFound("no tool \(request.pathParameters["tool"]!); expected openrouter, agentmail, telnyx or bankr")
            }
            struct Body: Decodable { var creditLimitUsd: Double?; var country: String?; var displayName: String? }
            let body: Body
            do { body = request.body.isEmpty ? Body() : try JSONDecoder().decode(Body.self, from: request.body) } catch {
                throw HTTPError.badRequest("expected {\"creditLimitUsd\"?, \"country\"?, \"displayName\"?} or no body",
                                           details: [.init(path: "", message: "expected a JSON object of tool options")])
            }
            let options = ToolOptions(creditLimitUsd: body.creditLimitUsd, country: body.country ?? "US", displayName: body.displayName)
            return .json(try await Self.services { try await services.provision(request.pathParameters["instance"]!, tool: tool, options: options) })
        }
        router.add("DELETE", "/instances/:instance") { request in
            let id = request.pathParameters["instance"]!
            try await Self.services { try await services.teardown(id) }
            return .json(["instanceId": id, "state": "deleted"])
        }
    }

    /// Maps services errors to the contract's error shape.
    static func services<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ServicesError {
            throw HTTPError(status: error.status, code: error.code, message: error.message)
        }
    }
}
