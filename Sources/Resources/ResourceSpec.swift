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
