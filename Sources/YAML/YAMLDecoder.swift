/// Decodes `Decodable` values from a node tree.
///
/// Type errors throw `YAMLDecodingError` with the field's path (`spec.minIdle`) and source mark.
/// Keys a type never asks for are not thrown: they come back in `unknownFields`, so the caller can
/// report them together with its own validation errors, all at once.
public struct YAMLDecoder: Sendable {
    public init() {}

    public struct Result<T> {
        public var value: T
        public var unknownFields: [YAMLDecodingError]
    }

    public func decode<T: Decodable>(_ type: T.Type, from node: YAMLNode) throws(YAMLDecodingError) -> Result<T> {
        let tracker = KeyTracker()
        do {
            let value = try T(from: NodeDecoder(node: node, codingPath: [], tracker: tracker))
            return Result(value: value, unknownFields: tracker.unknownFields())
        } catch let error as YAMLDecodingError {
            throw error
        } catch let error as DecodingError {
            throw YAMLDecodingError(from: error, root: node)
        } catch {
            throw YAMLDecodingError(path: "", message: "\(error)", mark: node.mark)
        }
    }
}

/// One field that could not be decoded, or was not expected.
public struct YAMLDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path with indices: `spec.tools[1].options.country`, `items[2].name`.
    public var path: String
    public var message: String
    public var mark: Mark

    public init(path: String, message: String, mark: Mark) {
        self.path = path
        self.message = message
        self.mark = mark
    }

    public var description: String {
        let location = mark == .none ? "" : " (\(mark))"
        return path.isEmpty ? message + location : "\(path): \(message)\(location)"
    }

    init(from error: DecodingError, root: YAMLNode) {
        switch error {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            self.init(path: codingPathString(c.codingPath), message: c.debugDescription, mark: root.mark)
        @unknown default:
            self.init(path: "", message: "\(error)", mark: root.mark)
        }
    }
}

func codingPathString(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
            out += "[\(index)]"
        } else {
            out += out.isEmpty ? key.stringValue : "." + key.stringValue
        }
    }
    return out
}

/// Records which keys of each mapping a type asked for, to report the rest as unknown.
final class KeyTracker {
    private var entries: [(path: [any CodingKey], pairs: [YAMLNode.Pair], asked: Set<String>)] = []

    func register(path: [any CodingKey], pairs: [YAMLNode.Pair]) -> Int {
        entries.append((path, pairs, []))
        return entries.count - 1
    }

    func ask(_ entry: Int, _ key: String) { entries[entry].asked.insert(key) }

    func unknownFields() -> [YAMLDecodingError] {
        var seen = Set<String>()
        var out: [YAMLDecodingError] = []
        for entry in entries {
            for pair in entry.pairs where !entry.asked.contains(pair.key) {
                let path = codingPathString(entry.path + [AnyKey(pair.key)])
                if seen.insert(path).inserted {
                    out.append(YAMLDecodingError(path: path, message: "unknown field", mark: pair.keyMark))
                }
            }
        }
        return out
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { stringValue = string; intValue = nil }
    init(index: Int) { stringValue = "\(index)"; intValue = index }
    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

struct NodeDecoder: Decoder {
    let node: YAMLNode
    let codingPath: [any CodingKey]
    let tracker: KeyTracker
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func fail(_ expected: String) -> YAMLDecodingError {
        YAMLDecodingError(path: codingPathString(codingPath), message: "expected \(expected), got \(node.describedType)", mark: node.mark)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let pairs) = node.kind else { throw fail("a mapping") }
        let entry = tracker.register(path: codingPath, pairs: pairs)
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, pairs: pairs, entry: entry))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let items) = node.kind else { throw fail("a sequence") }
        return UnkeyedNodeContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleNodeContainer(decoder: self) }

    func child(_ node: YAMLNode, _ key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], tracker: tracker)
    }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let pairs: [YAMLNode.Pair]
    let entry: Int

    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] {
        pairs.compactMap { pair in
            let key = Key(stringValue: pair.key)
            if key != nil { decoder.tracker.ask(entry, pair.key) }
            return key
        }
    }

    func contains(_ key: Key) -> Bool {
        decoder.tracker.ask(entry, key.stringValue)
        return pairs.contains { $0.key == key.stringValue }
    }

    private func value(_ key: Key) throws -> YAMLNode {
        decoder.tracker.ask(entry, key.stringValue)
        guard let pair = pairs.first(where: { $0.key == key.stringValue }) else {
            throw YAMLDecodingError(path: codingPathString(codingPath + [key]), message: "required", mark: decoder.node.mark)
        }
        return pair.value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let node = try value(key)
        if case .scalar(let s) = node.kind, s.isPlain, CoreSchema.resolve(s.text) == .null { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: decoder.child(try value(key), key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(try value(key), key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(try value(key), key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(try value(key), key) }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [YAMLNode]
    var currentIndex = 0

    init(decoder: NodeDecoder, items: [YAMLNode]) {
        self.decoder = decoder
        self.items = items
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw YAMLDecodingError(path: codingPathString(codingPath), message: "too few items", mark: decoder.node.mark)
        }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], AnyKey(index: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .scalar(let s) = items[currentIndex].kind, s.isPlain, CoreSchema.resolve(s.text) == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: try next()) }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

struct SingleNodeContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    private var scalar: YAMLNode.Scalar? {
        if case .scalar(let s) = decoder.node.kind { return s }
        return nil
    }

    private var resolved: CoreSchema.Resolved? {
        guard let s = scalar else { return nil }
        return s.isPlain ? CoreSchema.resolve(s.text) : .string
    }

    func decodeNil() -> Bool { resolved == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let b)? = resolved else { throw decoder.fail("a boolean") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        // Strict, as Kubernetes decodes: `agentName: 5` or `owner: true` is a number or a boolean
        // where a string belongs, refused with its field, never stored as the text "5". Quote it.
        guard let s = scalar, resolved == .string else { throw decoder.fail("a string") }
        return s.text
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch resolved {
        case .int(let i)?: return Double(i)
        case .float(let d)?: return d
        default: throw decoder.fail("a number")
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func decode(_ type: Int.Type) throws -> Int {
        switch resolved {
        case .int(let i)?: return i
        case .float(let d)? where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: throw decoder.fail("an integer")
        }
    }

    func decode<T: BinaryInteger & Decodable>(integer type: T.Type) throws -> T {
        let i = try decode(Int.self)
        guard let v = T(exactly: i) else { throw decoder.fail("an integer that fits \(T.self)") }
        return v
    }

    func decode(_ type: Int8.Type) throws -> Int8 { try decode(integer: type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decode(integer: type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decode(integer: type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decode(integer: type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decode(integer: type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(integer: type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(integer: type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(integer: type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(integer: type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: decoder) }
}
