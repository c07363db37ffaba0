import Foundation
import YAML

/// Any JSON value. Specs and statuses travel as this between the store, the API and the CLI.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int? { if case .int(let i) = self { return i }; return nil }

    /// Parses JSON text, as decoding it would (`JSONDecoder().decode(JSONValue.self, from:)`), through
    /// Foundation's `JSONSerialization`: decoding tries each type in turn and builds an error for
    /// each miss, which made a page of a hundred Railway projects, or a tick's thousands of stored
    /// statuses, cost milliseconds each. Numbers keep the decoder's split: a number that is a whole
    /// `Int` (`2`, `2.0`, `1e3`) is `int`, the rest `double`. For text from Postgres and providers
    /// only: it is laxer than the decoder on malformed text (a trailing comma passes), so request
    /// bodies keep the decoder.
    public static func parse(_ data: Data) throws -> JSONValue {
        convert(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    private static func convert(_ object: Any) -> JSONValue {
        // Swift's own types first: testing a dictionary or an array against a class (`is NSNull`,
        // `as NSNumber`) bridges it to an NSDictionary or NSArray first, at every node (a page of
        // 100 Railway projects took 39 ms to convert in a debug build, 2.9 ms in this order).
        switch object {
        case let s as String: return .string(s)
        case let o as [String: Any]: return .object(o.mapValues(convert))
        case let a as [Any]: return .array(a.map(convert))
        case is NSNull: return .null
        case let n as NSNumber:
            // JSONSerialization makes `true`/`false` booleans (type "c") and whole numbers integers.
            switch UInt8(bitPattern: n.objCType.pointee) {
            case UInt8(ascii: "c"), UInt8(ascii: "B"): return .bool(n.boolValue)
            case UInt8(ascii: "d"), UInt8(ascii: "f"): return Int(exactly: n.doubleValue).map(JSONValue.int) ?? .double(n.doubleValue)
            case UInt8(ascii: "Q"): return n.uint64Value <= UInt64(Int.max) ? .int(Int(n.uint64Value)) : .double(n.doubleValue)
            default: return .int(n.intValue)
            }
        default: return .null
        }
    }

    /// Converts any Encodable value (a spec, a status) through JSON.
    /// Dates become RFC 3339 text with milliseconds, as every API field shows them.
    public static func from<T: Encodable>(_ value: T) throws -> JSONValue {
        try parse(try encoded(value))
    }

    /// The JSON text of any Encodable value, dates as `from` makes them: for a value stored as it
    /// is, with no tree in between (40,000 statuses as trees were half the controller's peak memory).
    public static func encoded<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISO8601.format(date))
        }
        return try encoder.encode(value)
    }

    /// Decodes a typed value from this JSON; dates are RFC 3339 text (or, as older rows hold them,
    /// seconds since 2001).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Self.decode(type, from: try JSONEncoder().encode(self))
    }

    /// Decodes a typed value from JSON text, dates as `decode(_:)` reads them: for stored text read
    /// straight into its type, with no tree in between (40,000 agents' statuses as trees were 330 MB
    /// at a new term's first read).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            if let seconds = try? c.decode(Double.self) { return Date(timeIntervalSinceReferenceDate: seconds) }
            let text = try c.decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 time: \(YAMLNode.quoted(text))")
            }
            return date
        }
        return try decoder.decode(type, from: data)
    }

    /// Canonical JSON text: keys sorted, no whitespace. Equal values give equal text.
    public func canonicalData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    /// A YAML node for display; object keys in the given preferred order, then sorted.
    public func yamlNode(keyOrder: [String] = []) -> YAMLNode {
        switch self {
        case .null: return .null
        case .bool(let b): return .plain(b ? "true" : "false")
        case .int(let i): return .plain(String(i))
        case .double(let d): return .plain(d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) + ".0" : String(d))
        case .string(let s): return .string(s)
        case .array(let a): return YAMLNode(.sequence(a.map { $0.yamlNode(keyOrder: keyOrder) }))
        case .object(let o):
            let keys = o.keys.sorted { a, b in
                let ia = keyOrder.firstIndex(of: a) ?? Int.max, ib = keyOrder.firstIndex(of: b) ?? Int.max
                return ia != ib ? ia < ib : a < b
            }
            return YAMLNode(.mapping(keys.map { .init(key: $0, value: o[$0]!.yamlNode(keyOrder: keyOrder)) }))
        }
    }

    /// Reads a JSON value from a parsed YAML node with core-schema scalars.
    public init(yaml node: YAMLNode) {
        switch node.kind {
        case .scalar(let s) where !s.isPlain: self = .string(s.text)
        case .scalar(let s):
            switch CoreSchema.resolve(s.text) {
            case .null: self = .null
            case .bool(let b): self = .bool(b)
            case .int(let i): self = .int(i)
            case .float(let d): self = .double(d)
            case .string: self = .string(s.text)
            }
        case .sequence(let items): self = .array(items.map(JSONValue.init(yaml:)))
        case .mapping(let pairs): self = .object(Dictionary(pairs.map { ($0.key, JSONValue(yaml: $0.value)) }, uniquingKeysWith: { a, _ in a }))
        }
    }

    /// A YAML node with JSON's typing: strings quoted, other scalars plain. For JSON request bodies,
    /// so JSON and YAML input share one decoding path.
    public var typedYAMLNode: YAMLNode { yamlNode() }
}

/// Literals, for documents written in code (the OpenAPI document).
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue {
    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, when this is an object.
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }

    /// The order people expect to read an object's keys in (`get -o yaml`, `/v1` answers).
    public static let objectKeyOrder = ["apiVersion", "kind", "metadata", "name", "labels", "generation", "resourceVersion",
                                        "createdAt", "spec", "status", "phase"]
}
