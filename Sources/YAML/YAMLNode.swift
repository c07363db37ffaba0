/// A position in the source text, 1-based, as editors show it.
public struct Mark: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
    public static let none = Mark(line: 0, column: 0)
    public var description: String { line == 0 ? "" : "line \(line), column \(column)" }
}

/// One node of a parsed YAML document. Mappings keep their keys in source order.
/// There are no anchors or aliases: the parser refuses them.
public struct YAMLNode: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case scalar(Scalar)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public struct Scalar: Sendable, Equatable {
        public var text: String
        /// Plain (unquoted) scalars resolve to null, bool, int or float; quoted ones are strings.
        public var isPlain: Bool
        public init(text: String, isPlain: Bool) { self.text = text; self.isPlain = isPlain }
    }

    public struct Pair: Sendable, Equatable {
        public var key: String
        public var keyMark: Mark
        public var value: YAMLNode
        public init(key: String, keyMark: Mark = .none, value: YAMLNode) {
            self.key = key
            self.keyMark = keyMark
            self.value = value
        }
    }

    public var kind: Kind
    public var mark: Mark

    public init(_ kind: Kind, mark: Mark = .none) {
        self.kind = kind
        self.mark = mark
    }

    public static func string(_ text: String) -> YAMLNode { YAMLNode(.scalar(Scalar(text: text, isPlain: false))) }
    public static func plain(_ text: String) -> YAMLNode { YAMLNode(.scalar(Scalar(text: text, isPlain: true))) }
    public static let null = YAMLNode.plain("null")

    /// The value of `key` when this node is a mapping.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = kind else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    /// Input text quoted in an error message: the first 40 characters, so a message never carries a
    /// hostile value whole (the manifest fuzzer found a 1 KiB `kind` echoed back).
    public static func quoted(_ text: String) -> String {
        text.count > 40 ? "\"\(text.prefix(40))…\"" : "\"\(text)\""
    }

    /// A short name of what this node is, for error messages ("a mapping", "the integer 3").
    public var describedType: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        case .scalar(let s):
            guard s.isPlain else { return "the string " + Self.quoted(s.text) }
            switch CoreSchema.resolve(s.text) {
            case .null: return "null"
            case .bool: return "the boolean \(s.text)"
            case .int, .float: return "the number \(s.text)"
            case .string: return "the string " + Self.quoted(s.text)
            }
        }
    }
}

/// Resolution of plain scalars by the YAML 1.2 core schema (so `no` and `on` stay strings).
public enum CoreSchema {
    public enum Resolved: Equatable { case null, bool(Bool), int(Int), float(Double), string }

    public static func resolve(_ text: String) -> Resolved {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = Int(text) { return .int(i) }
        if text.hasPrefix("0x"), let i = Int(text.dropFirst(2), radix: 16) { return .int(i) }
        if text.hasPrefix("0o"), let i = Int(text.dropFirst(2), radix: 8) { return .int(i) }
        let lower = text.lowercased()
        if [".inf", "+.inf"].contains(lower) { return .float(.infinity) }
        if lower == "-.inf" { return .float(-.infinity) }
        if lower == ".nan" { return .float(.nan) }
        if let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
            || first == UInt8(ascii: ".") || (first >= 48 && first <= 57),
           let d = Double(text) {
            return .float(d)
        }
        return .string
    }
}
