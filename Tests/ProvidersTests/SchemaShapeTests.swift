import Foundation
import Sync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import Providers
import Resources
import Simulator

/// The simulator answers in the published shapes: here, OpenRouter's key objects carry every field
/// its OpenAPI document requires. `scripts/check_schemas.py` extracts the list from
/// ../shared/schemas; without that folder, the copy below (taken from the same document) is used.
@Suite struct SchemaShapeTests {
    static let keyFieldsFromSchema = ["byok_usage", "byok_usage_daily", "byok_usage_monthly", "byok_usage_weekly", "created_at",
        "creator_user_id", "disabled", "hash", "include_byok_in_limit", "label", "limit", "limit_remaining", "limit_reset", "name",
        "updated_at", "usage", "usage_daily", "usage_monthly", "usage_weekly", "workspace_id"]

    func required() throws -> (create: [String], key: [String]) {
        guard let path = ProcessInfo.processInfo.environment["OPENROUTER_SCHEMA_FIELDS"] else { return (["data", "key"], Self.keyFieldsFromSchema) }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: [String]]
        #expect(object["key"] == Self.keyFieldsFromSchema, "the copy in this test is out of date with the schema")
        return (object["createResponse"]!, object["key"]!)
    }

    @Test func openRouterKeysHaveEveryRequiredField() async throws {
        let (createFields, keyFields) = try required()
        let cloud = try await SimulatedCloud.start()
        var request = URLRequest(url: URL(string: cloud.sim.openRouterURL + "/keys")!)
        request.httpMethod = "POST"
        request.setValue("Bearer k", forHTTPHeaderField: "Authorization")
        request.httpBody = Data(#"{"name":"shape","limit":5}"#.utf8)
        let (data, response) = try await URLSession.shared.shieldedData(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 201)
        let created = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(Set(createFields).isSubset(of: created.keys))
        let key = created["data"] as! [String: Any]
        #expect(Set(keyFields).subtracting(key.keys).isEmpty, "missing: \(Set(keyFields).subtracting(key.keys))")
        await cloud.sim.shutdown()
    }
}
