/// A container image reference: `ghcr.io/xmtplabs/convos-runtime:production` or `...@sha256:...`.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    public var registry: String
    public var repository: String
    public var tag: String?
    public var digest: String?

    /// Parses a reference; nil when it is not one. A missing registry means Docker Hub, which we refuse
    /// by not guessing: the pool names its registry explicitly.
    public init?(_ text: String) {
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            let digest = rest[rest.index(after: at)...]
            guard digest.hasPrefix("sha256:"), digest.count == 71,
                  digest.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
            self.digest = String(digest)
            rest = rest[..<at]
        }
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let tag = rest[rest.index(after: colon)...]
            guard !tag.isEmpty, tag.count <= 128,
                  tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else { return nil }
            self.tag = String(tag)
            rest = rest[..<colon]
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, let first = parts.first, first.contains(".") || first.contains(":") || first == "localhost",
              first.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else {
            return nil
        }
        let path = parts.dropFirst()
        guard path.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) } }) else {
            return nil
        }
        registry = String(first)
        repository = path.joined(separator: "/")
        if tag == nil && digest == nil { tag = "latest" }
    }

    public var description: String {
        var text = "\(registry)/\(repository)"
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
