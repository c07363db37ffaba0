import Testing
@testable import YAML

@Suite struct YAMLDecoderTests {
    struct Inner: Decodable, Equatable { var limit: Double }
    struct Spec: Decodable, Equatable {
        var name: String
        var count: Int
        var enabled: Bool?
        var tags: [String]?
        var labels: [String: String]?
        var inner: Inner?
    }

    func decode(_ text: String) throws -> YAMLDecoder.Result<Spec> {
        try YAMLDecoder().decode(Spec.self, from: try YAMLParser().parseDocument(text))
    }

    @Test func decodesTypedValues() throws {
        let r = try decode("name: x\ncount: 3\nenabled: false\ntags: [a, b]\nlabels: {team: core}\ninner: {limit: 10}\n")
        #expect(r.value == Spec(name: "x", count: 3, enabled: false, tags: ["a", "b"], labels: ["team": "core"], inner: Inner(limit: 10)))
        #expect(r.unknownFields.isEmpty)
    }

    @Test func unknownFieldsAreReportedWithPaths() throws {
        let r = try decode("name: x\ncount: 1\nextra: 1\ninner:\n  limit: 1\n  lmit: 2\n")
        #expect(r.unknownFields.map(\.path) == ["extra", "inner.lmit"])
        #expect(r.unknownFields[1].mark == Mark(line: 6, column: 3))
    }

    @Test func typeErrorsNameTheFieldAndPlace() {
        do {
            _ = try decode("name: x\ncount: lots\n")
            Issue.record("accepted a string for an integer")
        } catch let error as YAMLDecodingError {
            #expect(error.path == "count")
            #expect(error.message == "expected an integer, got the string \"lots\"")
            #expect(error.mark == Mark(line: 2, column: 8))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func missingRequiredFieldIsNamed() {
        #expect(throws: YAMLDecodingError(path: "count", message: "required", mark: Mark(line: 1, column: 1))) {
            try decode("name: x\n")
        }
    }

    @Test func quotedNumberIsNotAnInteger() {
        #expect(throws: YAMLDecodingError.self) { try decode("name: x\ncount: \"3\"\n") }
    }

    @Test func nestedIndexPaths() {
        struct List: Decodable { var items: [Inner] }
        do {
            _ = try YAMLDecoder().decode(List.self, from: try YAMLParser().parseDocument("items:\n- limit: 1\n- limit: no\n"))
            Issue.record("accepted a string for a number")
        } catch let error as YAMLDecodingError {
            #expect(error.path == "items[1].limit")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
