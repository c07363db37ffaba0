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
    // Built byte by byte: statuses (JSON, a quote in every key) are escaped by the thousand after a
    // burst of claims, and Foundation's search-and-replace made that tens of milliseconds on a
    // cooperative thread the claims needed.
    var bytes: [UInt8] = [UInt8(ascii: "{")]
    bytes.reserveCapacity(values.reduce(2) { $0 + $1.utf8.count + 3 })
    for (k, v) in values.enumerated() {
        if k > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        for b in v.utf8 {
            if b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
            bytes.append(b)
        }
        bytes.append(UInt8(ascii: "\""))
    }
    bytes.append(UInt8(ascii: "}"))
    return String(decoding: bytes, as: UTF8.self)
}

/// A Postgres text array literal with NULL elements for nils.
package func textArray(_ values: [String?]) -> String {
    "{" + values.map { value in value.map { textArray([$0]).dropFirst().dropLast() }.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
}
