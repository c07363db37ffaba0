import Foundation
import Testing
@testable import YAML

func stripMarks(_ n: YAMLNode) -> YAMLNode {
    switch n.kind {
    case .scalar: return YAMLNode(n.kind)
    case .sequence(let items): return YAMLNode(.sequence(items.map(stripMarks)))
    case .mapping(let pairs): return YAMLNode(.mapping(pairs.map { .init(key: $0.key, value: stripMarks($0.value)) }))
    }
}

@Suite struct YAMLParserTests {
    let parser = YAMLParser()

    @Test func multiDocumentStream() throws {
        let docs = try parser.parseStream("""
            a: 1
            b: [x, "y"]
            ---
            # an empty document between two separators is skipped
            ---
            c:
              d: true
              e: ~
            """)
        #expect(docs.count == 2)
        #expect(docs[0]["a"].map(stripMarks) == .plain("1"))
        #expect(docs[0]["b"].map(stripMarks) == YAMLNode(.sequence([.plain("x"), .string("y")])))
        #expect(docs[1]["c"]?["d"].map(stripMarks) == YAMLNode.plain("true"))
        #expect(docs[1]["c"]?["d"]?.mark == Mark(line: 7, column: 6))
    }

    @Test func syntaxErrorCarriesLineAndColumn() {
        do {
            _ = try parser.parseStream("a: 1\nb: [unclosed\nc: 3\n")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.reason == .syntax)
            #expect(error.mark.line >= 2)
            #expect(error.mark.column >= 1)
            #expect(error.description.contains("line"))
        }
    }

    /// Found by the fuzzer: libyaml puts the end of a stream without a final line break on a line of
    /// its own, so an error there named a line the input does not have.
    @Test func errorAtTheEndPointsAtTheLastLine() {
        do {
            _ = try parser.parseStream("a: 1\nb: {c: d")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.mark == Mark(line: 2, column: 9))
        }
        do {
            _ = try parser.parseStream("a: 1\r\nb: [\u{2028}")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.mark.line == 3)
        }
    }

    @Test func aliasBombIsRefusedQuickly() {
        // The classic "billion laughs": nine levels of nine aliases each.
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
            previous = name
        }
        let start = ContinuousClock.now
        #expect(throws: YAMLError(.aliasesNotAllowed, "anchors (&name) are not allowed", at: Mark(line: 1, column: 4))) {
            try parser.parseStream(text)
        }
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func aliasAloneIsRefused() {
        do {
            _ = try parser.parseStream("a: *nowhere\n")
            Issue.record("accepted an alias")
        } catch {
            // libyaml itself refuses an undefined alias; a defined one is refused by us. Either way, no expansion.
            #expect(error.reason == .aliasesNotAllowed || error.reason == .syntax)
        }
    }

    @Test func deepNestingIsRefused() {
        let text = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        do {
            _ = try parser.parseStream(text)
            Issue.record("accepted 100 levels")
        } catch {
            #expect(error.reason == .tooDeep)
            #expect(error.message == "nesting is deeper than 64 levels")
            #expect(error.mark == Mark(line: 1, column: 65))
        }
        // 64 levels are fine.
        #expect(throws: Never.self) { try parser.parseStream(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) }
    }

    @Test func twoMebibyteDocumentIsRefusedBeforeParsing() {
        let text = "k: \"" + String(repeating: "x", count: 2 << 20) + "\"\n"
        let start = ContinuousClock.now
        do {
            _ = try parser.parseStream(text)
            Issue.record("accepted 2 MiB")
        } catch {
            #expect(error.reason == .tooLarge)
            #expect(error.message.contains("the limit is 1048576 bytes"))
        }
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func duplicateKeysAreRefused() {
        #expect(throws: YAMLError(.duplicateKey, "key \"a\" appears twice in this mapping", at: Mark(line: 2, column: 1))) {
            try parser.parseStream("a: 1\na: 2\n")
        }
    }

    @Test func foreignTagsAreRefused() {
        #expect(throws: YAMLError.self) { try parser.parseStream("a: !!python/object:os.system ls\n") }
    }

    @Test func jsonIsYAML() throws {
        let doc = try parser.parseDocument("{\"a\": 1, \"b\": [true, null, \"s\"], \"c\": {\"d\": -2.5}}")
        #expect(doc["a"].map(stripMarks) == .plain("1"))
        #expect(doc["c"]?["d"].map(stripMarks) == .plain("-2.5"))
    }

    @Test func coreSchemaKeepsNorwayAString() {
        #expect(CoreSchema.resolve("no") == .string)
        #expect(CoreSchema.resolve("on") == .string)
        #expect(CoreSchema.resolve("true") == .bool(true))
        #expect(CoreSchema.resolve("~") == .null)
        #expect(CoreSchema.resolve("12") == .int(12))
        #expect(CoreSchema.resolve("1.5") == .float(1.5))
        #expect(CoreSchema.resolve("1.2.3") == .string)
    }

    @Test func emitterRoundTrips() throws {
        let node = YAMLNode(.mapping([
            .init(key: "name", value: .string("true")),
            .init(key: "count", value: .plain("3")),
            .init(key: "empty", value: .string("")),
            .init(key: "text", value: .string("line one\nline two\n")),
            .init(key: "list", value: YAMLNode(.sequence([.string("a"), .plain("null")]))),
            .init(key: "none", value: YAMLNode(.mapping([]))),
        ]))
        let text = YAMLEmitter.emit(node)
        let back = stripMarks(try parser.parseDocument(text))
        func strip(_ n: YAMLNode) -> YAMLNode {
            switch n.kind {
            case .scalar(let s):
                // Strings that read back the same may come back plain; compare resolved meaning.
                let plain = s.isPlain && CoreSchema.resolve(s.text) != .string
                return YAMLNode(.scalar(.init(text: s.text, isPlain: plain)))
            case .sequence(let items): return YAMLNode(.sequence(items.map(strip)))
            case .mapping(let pairs): return YAMLNode(.mapping(pairs.map { .init(key: $0.key, value: strip($0.value)) }))
            }
        }
        #expect(strip(back) == strip(node), "emitted:\n\(text)")
        #expect(text.contains("text: |"))
    }
}
