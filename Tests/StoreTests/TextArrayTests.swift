import Foundation
import Testing
import Postgres
@testable import Store
import AppTestSupport
import TestSupport

/// `textArray` binds any list of strings to `$1::text[]`: what Postgres reads back is the list as
/// given, whatever the strings hold (JSON with quotes and backslashes, commas, braces, the empty string).
@Suite struct TextArrayTests {
    @Test func everyStringComesBackAsGiven() async throws {
        let url = try await TestDatabase.create(prefix: "ta")
        let db = PostgresPool(url: url, size: 1)
        let values = ["plain", "", "a,b", "{braces}", #"{"phase":"Ready","message":"say \"hi\""}"#, #"back\slash\\"#, "NULL", "é ✓ 😀", " spaced "]
        let rows = try await db.query("SELECT u.v, u.k FROM unnest($1::text[]) WITH ORDINALITY AS u(v, k) ORDER BY u.k", [textArray(values)])
        #expect(try rows.rows.map { try $0.decode("v", as: String.self) } == values)
        await db.close()
    }
}
