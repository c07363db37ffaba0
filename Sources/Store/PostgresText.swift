import Postgres
import Resources

/// A closed (or Railway's open) set of words stored as text: read and bound as its raw value, so a
/// row's state is compared as a type, never as a string.
package protocol PostgresText: RawRepresentable, PostgresEncodable, PostgresDecodable where RawValue == String {}

extension PostgresText {
    public var postgresText: String? { rawValue }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Self {
        guard let text else { throw PostgresDecodingFailure("unexpected NULL") }
        guard let value = Self(rawValue: text) else { throw PostgresDecodingFailure("not a \(Self.self): \(text)") }
        return value
    }
}

extension DeployStatus: PostgresText {}
extension ToolState: PostgresText {}
extension Provisioning: PostgresText {}
extension InstanceState: PostgresText {}
extension InstanceHealth: PostgresText {}
extension ServicesErrorCode: PostgresText {}

/// `services.instances.state`: an instance's Railway project as services made it.
package enum ServiceInstanceState: String, PostgresText {
    case creating, ready, deleting, deleted
}

/// A Postgres text array literal, each element quoted: binds a list to `= ANY($1::text[])`.
package func textArray(_ values: [String]) -> String {
    func quoted(_ v: String) -> String {
        // Ids and names (the usual content) have nothing to escape: no search through Foundation.
        guard v.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) else { return "\"" + v + "\"" }
        return "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    return "{" + values.map(quoted).joined(separator: ",") + "}"
}

/// A Postgres text array literal with NULL elements for nils.
package func textArray(_ values: [String?]) -> String {
    "{" + values.map { value in value.map { textArray([$0]).dropFirst().dropLast() }.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
}
