import Foundation
import Testing
@testable import Controller
import TestSupport

@Suite struct OpenAPITests {
    @Test func documentAndRouterServeTheSameRoutes() async throws {
        let t = try await TestController.start(simulate: true)
        let served = try await t.client.get("/openapi.json").json()
        let paths = served["paths"] as? [String: [String: Any]] ?? [:]
        let documented = Set(paths.flatMap { path, ops in ops.keys.map { "\($0.uppercased()) \(path)" } })
        let status = StatusService(db: t.controller.db, reconciler: t.controller.reconciler, providers: t.controller.providers)
        let router = API(store: t.controller.store, health: Health(db: t.controller.db), services: t.controller.services, auth: APIAuth(),
                         logger: Logger(), status: status).router()
        // The Kubernetes API documents itself at /openapi/v3 (KubernetesAPITests read it).
        let routed = Set(router.table.filter { !API.isKube($0.pattern) }.map { route in
            "\(route.method) " + route.pattern.split(separator: "/", omittingEmptySubsequences: false).map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
        }.map { $0 == "GET " ? "GET /" : $0 })
        #expect(routed.subtracting(documented).isEmpty, "served but not documented: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented but not served: \(documented.subtracting(routed).sorted())")
        #expect(served["openapi"] as? String == "3.0.3")
        let file = "/tmp/convos-openapi-\(t.controller.port).json"
        try await t.client.get("/openapi.json").body.write(to: URL(fileURLWithPath: file))
        let check = await shellOutput("python3 -c \"import json,sys; from openapi_spec_validator import validate; validate(json.load(open('\(file)'))); print('valid')\"", mergeErrors: true)
        #expect(check.output.hasSuffix("valid\n"), "openapi-spec-validator: \(check.output)")
        unlink(file)
        await t.stop()
    }
}
