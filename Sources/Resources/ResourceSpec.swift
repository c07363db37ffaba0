import YAML

/// A kind's desired state. Implemented once per kind, each in its own file.
///
/// Decoding fills in defaults, so the stored spec is explicit and `get` shows what is in force.
/// `validate()` reports every problem at once, each with its path from the object's root.
public protocol ResourceSpec: Codable, Sendable, Equatable {
    static var kind: ResourceKind { get }
    func validate() -> [FieldError]
}

/// Keys for types that accept no keys at all: every key is then reported as unknown.
struct NoKeys: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { return nil }
}

/// A closed set of strings on the wire (tool ids, visibility, provisioning). Decoding a value that
/// is not one of them names the allowed values and quotes the bad one by its first 40 characters.
public protocol WireEnum: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension WireEnum {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be one of \(allowed), got \(YAMLNode.quoted(text))")
        }
        self = value
    }
}
