/// A YAML stream that was refused, with where and why.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The text is not valid YAML (libyaml's own message).
        case syntax
        /// Anchors and aliases are refused: they allow exponential expansion ("billion laughs").
        case aliasesNotAllowed
        /// More nested mappings and sequences than the limit.
        case tooDeep
        /// The stream is larger than the limit.
        case tooLarge
        /// A mapping names the same key twice.
        case duplicateKey
        /// Keys must be plain or quoted scalars.
        case complexKey
        /// Explicit tags other than the core ones are refused.
        case unsupportedTag
    }

    public var reason: Reason
    public var message: String
    public var mark: Mark

    public init(_ reason: Reason, _ message: String, at mark: Mark) {
        self.reason = reason
        self.message = message
        self.mark = mark
    }

    public var description: String { mark == .none ? message : "\(message) (\(mark))" }
}
