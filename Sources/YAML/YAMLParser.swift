internal import CYAML

/// Parses YAML streams into node trees with libyaml's event parser.
///
/// Refuses, before building anything large: input over `maxBytes`, nesting deeper than `maxDepth`,
/// any anchor or alias, duplicate keys, and non-scalar keys. Empty documents are skipped.
public struct YAMLParser: Sendable {
    public var maxBytes: Int
    public var maxDepth: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// Every non-empty document of the stream, in order.
    public func parseStream(_ text: String) throws(YAMLError) -> [YAMLNode] {
        var bytes = Array(text.utf8)
        guard bytes.count <= maxBytes else {
            throw YAMLError(.tooLarge, "document is \(bytes.count) bytes; the limit is \(maxBytes) bytes", at: .none)
        }
        if bytes.isEmpty { return [] }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(.syntax, "the YAML parser could not start", at: .none)
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YAMLError) -> [YAMLNode] in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = TreeBuilder(maxDepth: maxDepth)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else { throw Self.syntaxError(parser, in: text) }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.consume(event)
            }
            return builder.documents
        }
    }

    /// Exactly one document; an empty stream is an error.
    public func parseDocument(_ text: String) throws(YAMLError) -> YAMLNode {
        let documents = try parseStream(text)
        guard documents.count == 1 else {
            throw YAMLError(.syntax, "expected one document, found \(documents.count)", at: .none)
        }
        return documents[0]
    }

    private static func syntaxError(_ parser: yaml_parser_t, in text: String) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let context = parser.context.map { String(cString: $0) }
        var mark = Mark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        // libyaml ends a stream without a final line break on a line of its own, one past the
        // input: an error found there is reported where an editor can show it, after the last character.
        let end = endMark(of: text)
        if mark.line > end.line { mark = end }
        return YAMLError(.syntax, context.map { "\($0): \(problem)" } ?? problem, at: mark)
    }

    /// The position just after the last character, counting line breaks as libyaml does.
    static func endMark(of text: String) -> Mark {
        var line = 1, column = 1
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where previous == "\r": break
            case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": line += 1; column = 1
            default: column += 1
            }
            previous = scalar
        }
        return Mark(line: line, column: column)
    }
}

/// Builds nodes from the event stream with an explicit stack (no recursion, so depth costs nothing).
private struct TreeBuilder {
    enum Frame {
        case sequence(mark: Mark, items: [YAMLNode])
        case mapping(mark: Mark, pairs: [YAMLNode.Pair], pendingKey: (String, Mark)?)
    }

    let maxDepth: Int
    var stack: [Frame] = []
    var documents: [YAMLNode] = []
    var root: YAMLNode?

    init(maxDepth: Int) { self.maxDepth = maxDepth }

    mutating func consume(_ event: yaml_event_t) throws(YAMLError) {
        let mark = Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            root = nil
        case YAML_DOCUMENT_END_EVENT:
            if let root, !Self.isEmptyDocument(root) { documents.append(root) }
            root = nil
        case YAML_ALIAS_EVENT:
            throw YAMLError(.aliasesNotAllowed, "aliases (*name) are not allowed", at: mark)
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            try Self.refuseAnchor(s.anchor, at: mark)
            var plain = s.style == YAML_PLAIN_SCALAR_STYLE
            if let tag = s.tag {
                switch String(cString: tag) {
                case "tag:yaml.org,2002:str": plain = false
                case "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                     "tag:yaml.org,2002:null": plain = true
                case let other: throw YAMLError(.unsupportedTag, "tag \(other) is not supported", at: mark)
                }
            }
            let text = s.value.map { pointer in
                String(decoding: UnsafeBufferPointer(start: pointer, count: s.length), as: UTF8.self)
            } ?? ""
            try add(YAMLNode(.scalar(.init(text: text, isPlain: plain)), mark: mark), at: mark)
        case YAML_SEQUENCE_START_EVENT:
            try Self.refuseAnchor(event.data.sequence_start.anchor, at: mark)
            try push(.sequence(mark: mark, items: []), at: mark)
        case YAML_MAPPING_START_EVENT:
            try Self.refuseAnchor(event.data.mapping_start.anchor, at: mark)
            try push(.mapping(mark: mark, pairs: [], pendingKey: nil), at: mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            switch frame {
            case .sequence(let m, let items): try add(YAMLNode(.sequence(items), mark: m), at: m)
            case .mapping(let m, let pairs, _): try add(YAMLNode(.mapping(pairs), mark: m), at: m)
            }
        default:
            break
        }
    }

    private mutating func push(_ frame: Frame, at mark: Mark) throws(YAMLError) {
        if case .mapping(_, _, nil)? = stack.last {
            throw YAMLError(.complexKey, "mapping keys must be scalars", at: mark)
        }
        guard stack.count < maxDepth else {
            throw YAMLError(.tooDeep, "nesting is deeper than \(maxDepth) levels", at: mark)
        }
        stack.append(frame)
    }

    private mutating func add(_ node: YAMLNode, at mark: Mark) throws(YAMLError) {
        guard let top = stack.popLast() else { root = node; return }
        switch top {
        case .sequence(let m, var items):
            items.append(node)
            stack.append(.sequence(mark: m, items: items))
        case .mapping(let m, var pairs, let pendingKey):
            if let (key, keyMark) = pendingKey {
                pairs.append(YAMLNode.Pair(key: key, keyMark: keyMark, value: node))
                stack.append(.mapping(mark: m, pairs: pairs, pendingKey: nil))
            } else {
                guard case .scalar(let s) = node.kind else {
                    throw YAMLError(.complexKey, "mapping keys must be scalars", at: mark)
                }
                if pairs.contains(where: { $0.key == s.text }) {
                    throw YAMLError(.duplicateKey, "key \(YAMLNode.quoted(s.text)) appears twice in this mapping", at: mark)
                }
                stack.append(.mapping(mark: m, pairs: pairs, pendingKey: (s.text, mark)))
            }
        }
    }

    private static func refuseAnchor(_ anchor: UnsafeMutablePointer<yaml_char_t>?, at mark: Mark) throws(YAMLError) {
        guard anchor != nil else { return }
        throw YAMLError(.aliasesNotAllowed, "anchors (&name) are not allowed", at: mark)
    }

    private static func isEmptyDocument(_ node: YAMLNode) -> Bool {
        if case .scalar(let s) = node.kind, s.isPlain, s.text.isEmpty { return true }
        return false
    }
}
