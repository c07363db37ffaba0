import Resources
import YAML

/// What the YAML-to-spec decoder promises for any text, checked by the fuzzer on every input:
/// - it returns or throws `ManifestErrors`, never traps, and every error says something short that
///   points inside the input;
/// - what the parser reads, the emitter writes back to text that reads the same (so `get -o yaml`
///   output applies back unchanged);
/// - manifests decoded from that re-emitted text equal the original ones.
enum ManifestProperties {
    /// An error message longer than this is echoing input back; a 4xx body should name, not copy.
    static let maxMessageBytes = 512

    static func check(_ text: String) {
        let manifests: [Manifest]?
        do {
            manifests = try ManifestDecoder.decode(yaml: text)
        } catch {
            checkErrors(error, in: text)
            manifests = nil
        }
        guard let documents = try? YAMLParser().parseStream(text) else {
            require(manifests == nil, "the decoder accepted text the parser refuses")
            return
        }
        let emitted = YAMLEmitter.emit(documents)
        let reread: [YAMLNode]
        do {
            reread = try YAMLParser().parseStream(emitted)
        } catch {
            fail("the emitter wrote text the parser refuses: \(error)\n--- emitted ---\n\(emitted)")
        }
        require(reread.map(Semantic.init) == documents.map(Semantic.init),
                "the emitter changed the documents\n--- emitted ---\n\(emitted)")
        guard let manifests else { return }
        do {
            let again = try ManifestDecoder.decode(yaml: emitted)
            require(again.map(unmarked) == manifests.map(unmarked), "manifests differ after a round trip through the emitter")
        } catch {
            fail("re-emitted manifests no longer decode: \(error)\n--- emitted ---\n\(emitted)")
        }
    }

    static func checkErrors(_ errors: ManifestErrors, in text: String) {
        require(!errors.errors.isEmpty, "an empty error list was thrown")
        let lines = lineCount(text)
        for error in errors.errors {
            require(!error.message.isEmpty, "an error without a message at \(error.path)")
            require(error.message.utf8.count <= maxMessageBytes, "an error message of \(error.message.utf8.count) bytes")
            require(error.path.utf8.count <= maxMessageBytes, "an error path of \(error.path.utf8.count) bytes")
            if let line = error.line {
                require(line >= 1 && line <= lines, "error line \(line) outside the input's \(lines) lines")
            }
        }
    }

    /// Lines as libyaml counts them: every kind of YAML line break starts one.
    static func lineCount(_ text: String) -> Int {
        var count = 1
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": if previous != "\r" { count += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}": count += 1
            default: break
            }
            previous = scalar
        }
        return count
    }

    static func unmarked(_ manifest: Manifest) -> Manifest {
        var copy = manifest
        copy.mark = .none
        return copy
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fail(message()) }
    }

    static func fail(_ message: String) -> Never {
        fatalError("manifest property broken: \(message)")
    }
}

/// A YAML node as the core schema reads it, without positions or quoting style: what the text means.
indirect enum Semantic: Equatable {
    case scalar(tag: String, text: String)
    case sequence([Semantic])
    case mapping([String], [Semantic])

    init(_ node: YAMLNode) {
        switch node.kind {
        case .scalar(let s):
            self = .scalar(tag: s.isPlain ? "\(CoreSchema.resolve(s.text))" : "string", text: s.text)
        case .sequence(let items):
            self = .sequence(items.map(Semantic.init))
        case .mapping(let pairs):
            self = .mapping(pairs.map(\.key), pairs.map { Semantic($0.value) })
        }
    }
}
