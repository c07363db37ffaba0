import Foundation
import Postgres

/// Databases for tests, on the throwaway cluster that `scripts/test` starts.
///
/// Tests never mock Postgres: each test that needs a clean store gets a database of its own, so
/// tests run in parallel without seeing each other's rows.
public enum TestDatabase {
    /// The server URL `scripts/test` exports. A missing value is a failure, never a skip.
    public static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty else {
            throw TestEnvironmentError("TEST_DATABASE_URL is not set: run the suite with `bash scripts/test`")
        }
        return url
    }

    /// Creates an empty database and returns its URL.
    public static func create(prefix: String = "t") async throws -> String {
        let server = try serverURL()
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let admin = PostgresPool(url: server, size: 1)
        // CREATE DATABASE cannot take a bound parameter; the name is generated here, never input.
        _ = try await admin.query("CREATE DATABASE \(name)")
        await admin.close()
        return replacingDatabase(in: server, with: name)
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}

public struct TestEnvironmentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
