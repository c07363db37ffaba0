/// Comparison of secrets (tokens, webhook path secrets) whose time does not depend on where they differ.
public enum ConstantTime {
    /// True when both strings are the same bytes; the time taken depends only on `expected`'s length.
    public static func equal(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count { difference |= b[i] ^ (i < a.count ? a[i] : 0) }
        return difference == 0
    }
}
