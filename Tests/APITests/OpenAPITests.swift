import Foundation
import Testing
import API
import AppTestSupport
import TestSupport

@Suite struct OpenAPITests {
    @Test func documentAndRouterServeTheSameRoutes() async throws {
        let t = try await TestController.start(simulate: true)
        let served = try await t.client.get("/openapi.json").json()
        let paths = served["paths"] as? [String: [String: Any]] ?? [:]
        let documented = Set(paths.flatMap { path, ops in ops.keys.map { "\($0.uppercased()) \(path)" } })
        // The router the server serves: the API's routes and the runtimes' (RuntimeAPI), as composed by App.
        let router = t.controller.router
        // The Kubernetes API documents itself at /openapi/v3 (KubernetesAPITests read it).
        let routed = Set(router.table.filter { !ControllerAPI.isKube($0.pattern) }.map { route in
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
