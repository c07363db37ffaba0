import Foundation
import Resources

/// `labelSelector` and `fieldSelector` of a list or watch, parsed once: equality (`=`, `==`, `!=`),
/// existence (`key`, `!key`) and set (`in`, `notin`) for labels; `metadata.name` for fields.
package struct KubeSelector: Sendable {
    package enum Requirement: Sendable {
        case equals(String, String), notEquals(String, String), exists(String), absent(String)
        case oneOf(String, Set<String>), noneOf(String, Set<String>)
    }
    package var labels: [Requirement] = []
    package var name: (value: String, equal: Bool)?

    package init(label: String?, field: String?) throws {
        for term in Self.terms(label ?? "") {
            labels.append(try Self.requirement(term))
        }
        for term in Self.terms(field ?? "") {
            let (key, value, equal) = try Self.equality(term, what: "fieldSelector")
            // involvedObject selectors belong to events; the objects here have only a name.
            guard key == "metadata.name" else {
                throw KubeStatus.badRequest("fieldSelector: \"\(key)\" is not a field of these objects; only metadata.name is")
            }
            name = (value, equal)
        }
    }

    package func matches(_ object: JSONValue) -> Bool {
        let objectName = object["metadata"]?["name"]?.stringValue ?? ""
        if let name, (objectName == name.value) != name.equal { return false }
        var labels: [String: String] = [:]
        if case .object(let l)? = object["metadata"]?["labels"] { labels = l.compactMapValues(\.stringValue) }
        return self.labels.allSatisfy { r in
            switch r {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .exists(let k): return labels[k] != nil
            case .absent(let k): return labels[k] == nil
            case .oneOf(let k, let vs): return labels[k].map(vs.contains) ?? false
            case .noneOf(let k, let vs): return !(labels[k].map(vs.contains) ?? false)
            }
        }
    }

    /// Splits at commas outside parentheses: `env in (a,b),tier=web`.
    package static func terms(_ text: String) -> [String] {
        var terms: [String] = [], current = "", depth = 0
        for ch in text {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if ch == ",", depth == 0 { terms.append(current); current = "" } else { current.append(ch) }
        }
        terms.append(current)
        return terms.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    package static func requirement(_ term: String) throws -> Requirement {
        for (word, negated) in [(" notin ", true), (" in ", false)] {
            if let range = term.range(of: word) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let list = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard list.hasPrefix("("), list.hasSuffix(")"), !key.isEmpty else {
                    throw KubeStatus.badRequest("labelSelector: cannot parse \"\(term)\"")
                }
                let values = Set(list.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                return negated ? .noneOf(key, values) : .oneOf(key, values)
            }
        }
        if term.contains("=") {
            let (k, v, equal) = try equality(term, what: "labelSelector")
            return equal ? .equals(k, v) : .notEquals(k, v)
        }
        if term.hasPrefix("!") { return .absent(String(term.dropFirst()).trimmingCharacters(in: .whitespaces)) }
        return .exists(term)
    }

    package static func equality(_ term: String, what: String) throws -> (String, String, Bool) {
        for (op, equal) in [("!=", false), ("==", true), ("=", true)] {
            if let range = term.range(of: op) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { break }
                return (key, term[range.upperBound...].trimmingCharacters(in: .whitespaces), equal)
            }
        }
        throw KubeStatus.badRequest("\(what): cannot parse \"\(term)\"")
    }
}
