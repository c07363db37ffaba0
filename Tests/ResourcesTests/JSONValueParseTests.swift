import Foundation
import Testing
@testable import Resources

/// `JSONValue.parse` (Foundation's JSONSerialization) gives what decoding gives, value for value:
/// booleans stay booleans (not 1 and 0), whole numbers integers, the rest doubles.
@Suite struct JSONValueParseTests {
    @Test(arguments: [
        #"{"a":true,"b":false,"c":1,"d":0,"e":-7,"f":1.5,"g":2.0,"h":1e3,"i":"x","j":null,"k":[true,1,1.0,"1",null,{}],"l":{"m":{"n":[]}}}"#,
        #"[9223372036854775807,-9223372036854775808,12345678901234567890,0.1,-0.0,3.14e-10]"#,
        #""just a string""#, "42", "true", "null", #"{"unicode":"é ✓ \u00e9 \ud83d\ude00","escaped":"a\"b\\c\n"}"#,
    ])
    func parseEqualsDecode(_ text: String) throws {
        let data = Data(text.utf8)
        #expect(try JSONValue.parse(data) == JSONDecoder().decode(JSONValue.self, from: data))
    }

    /// Broken text is refused (a trailing comma is not: the parser is laxer there, see `parse`).
    @Test func brokenJSONIsRefused() {
        for text in ["{", #"{"a":}"#, "[1 2]", ""] {
            #expect(throws: (any Error).self) { try JSONValue.parse(Data(text.utf8)) }
        }
    }
}
