import YAML

/// One problem with one field of one object, as the API reports it in `error.details`.
public struct FieldError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// Dotted path within the object, with indices: `spec.tools[1].options.country`.
    public var path: String
    public var message: String
    /// `kind/name` of the object, or `document N` when the name is not known.
    public var object: String?
    /// 1-based source position, when the input was text.
    public var line: Int?
    public var column: Int?

    public init(_ path: String, _ message: String, object: String? = nil, mark: Mark = .none) {
        self.path = Self.capped(path)
        self.message = message
        self.object = object
        if mark != .none { self.line = mark.line; self.column = mark.column }
    }

    /// A path names a field; one built from a hostile key (up to the 1 MiB body) is cut, so an
    /// error stays small. Found by the manifest fuzzer: a 600-byte key came back whole.
    public static let maxPathBytes = 256

    static func capped(_ path: String) -> String {
        guard path.utf8.count > maxPathBytes else { return path }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in path.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maxPathBytes - 3 { break }
            kept.append(scalar)
        }
        return String(kept) + "…"
    }

    public var description: String {
        var text = object.map { "\($0): " } ?? ""
        text += path.isEmpty ? message : "\(path): \(message)"
        if let line { text += " (line \(line)" + (column.map { ", column \($0)" } ?? "") + ")" }
        return text
    }
}

/// Small checks shared by every kind's `validate()`.
public enum Check {
    /// A lowercase RFC 1123 DNS label of 1 to 63 characters.
    public static func dnsLabel(_ value: String, at path: String) -> [FieldError] {
        if value.isEmpty { return [FieldError(path, "must not be empty")] }
        if value.utf8.count > 63 { return [FieldError(path, "must be at most 63 characters")] }
        let bytes = Array(value.utf8)
        let allowed = bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        if !allowed || bytes.first == 45 || bytes.last == 45 {
            return [FieldError(path, "must be a lowercase DNS label: a-z, 0-9 and '-', starting and ending with a letter or digit")]
        }
        return []
    }

    /// Printable text of bounded length, without control characters (newlines allowed if `multiline`).
    public static func text(_ value: String, at path: String, max: Int, required: Bool = true, multiline: Bool = false) -> [FieldError] {
        if required && value.trimmingCharacters(in: .whitespaces).isEmpty { return [FieldError(path, "must not be empty")] }
        if value.utf8.count > max { return [FieldError(path, "must be at most \(max) bytes")] }
        let bad = value.unicodeScalars.contains { s in
            s.properties.generalCategory == .control && !(multiline && (s == "\n" || s == "\t" || s == "\r"))
        }
        return bad ? [FieldError(path, "must not contain control characters")] : []
    }

    /// An absolute http(s) URL of at most 2048 bytes.
    public static func url(_ value: String, at path: String) -> [FieldError] {
        if value.utf8.count > 2048 { return [FieldError(path, "must be at most 2048 bytes")] }
        let lower = value.lowercased()
        let scheme = lower.hasPrefix("https://") ? 8 : lower.hasPrefix("http://") ? 7 : 0
        let host = value.dropFirst(scheme).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if scheme == 0 || host.isEmpty || value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            return [FieldError(path, "must be an absolute http or https URL")]
        }
        return []
    }

    public static func range<T: Comparable>(_ value: T, _ range: ClosedRange<T>, at path: String) -> [FieldError] {
        range.contains(value) ? [] : [FieldError(path, "must be between \(range.lowerBound) and \(range.upperBound)")]
    }

    /// Kubernetes-style labels: keys of letters, digits, `.`, `_`, `-` and `/`; values up to 63 characters.
    /// Kubernetes' rules, loosely: keys of letters, digits, '.', '_', '-' and '/' up to 317
    /// characters (a DNS prefix and a name); 256 KiB for all of them together.
    public static func annotations(_ annotations: [String: String], at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        var total = 0
        for (key, value) in annotations.sorted(by: { $0.key < $1.key }) {
            total += key.utf8.count + value.utf8.count
            let keyOK = !key.isEmpty && key.utf8.count <= 317 && key.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-/".unicodeScalars.contains($0))
            }
            if !keyOK { errors.append(FieldError("\(path).\(key)", "annotation keys are 1-317 characters of letters, digits, '.', '_', '-' and '/'")) }
            if value.unicodeScalars.contains("\u{0}") { errors.append(FieldError("\(path).\(key)", "must not contain NUL")) }
        }
        if total > 256 * 1024 { errors.append(FieldError(path, "annotations take \(total) bytes; at most 262144")) }
        return errors
    }

    public static func labels(_ labels: [String: String], at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if labels.count > 64 { errors.append(FieldError(path, "at most 64 labels")) }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            let keyOK = !key.isEmpty && key.utf8.count <= 63 && key.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-/".unicodeScalars.contains($0))
            }
            if !keyOK { errors.append(FieldError("\(path).\(key)", "label keys are 1-63 characters of letters, digits, '.', '_', '-' and '/'")) }
            errors += text(value, at: "\(path).\(key)", max: 63, required: false)
        }
        return errors
    }
}
