import Resources

/// Why the store refused a request. Each case maps to one HTTP status; none changes anything stored.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// 404: no such object.
    case notFound(kind: ResourceKind, name: String)
    /// 409: a create of an object that exists (POST, `createOnly`).
    case alreadyExists(kind: ResourceKind, name: String)
    /// 409: a stale resourceVersion, an object being deleted, a template in use.
    case conflict(String, [FieldError])
    /// 422: valid input that the current state refuses (a missing template, a clone by another owner).
    case unprocessable(String, [FieldError])

    public var description: String {
        switch self {
        case .notFound(let kind, let name): return "\(kind.singular)/\(name) not found"
        case .alreadyExists(let kind, let name): return "\(kind.singular)/\(name) already exists"
        case .conflict(let m, _), .unprocessable(let m, _): return m
        }
    }
}
