/// A statement that each connection parses and plans once (`PQprepare`) and then only executes
/// (`PQexecPrepared`). For hot statements whose planning costs more than running them: the claim's
/// one statement of several CTEs plans in longer than it runs. Declare it once, as a `static let`;
/// its name must be unique in the process. Connections prepare it lazily, on first use, and again
/// after a reconnect.
public struct PreparedStatement: Sendable, Hashable {
    public let name: String
    public let sql: String

    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}
