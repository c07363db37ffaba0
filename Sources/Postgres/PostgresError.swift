/// Every failure of the Postgres layer, one case per cause.
public enum PostgresError: Error, Sendable, CustomStringConvertible {
    /// The server could not be reached or refused the connection (message from libpq, no secrets).
    case connectionFailed(String)
    /// The connection broke during a call; the pool reconnects on the next checkout.
    case connectionLost(String)
    /// The server answered with an error.
    case server(ServerError)
    /// A column was missing or its text could not be read as the requested type.
    case decoding(column: String, message: String)
    /// The pool was closed.
    case closed
    /// Parameter `index` (from 0) holds a NUL character, which no Postgres text can. Thrown before
    /// the query is sent: passed on, the C string would end at the NUL and name something else.
    case nulInParameter(index: Int)

    public var description: String {
        switch self {
        case .connectionFailed(let m): return "database unreachable: \(m)"
        case .connectionLost(let m): return "database connection lost: \(m)"
        case .server(let e): return "database error \(e.sqlState): \(e.message)"
        case .decoding(let c, let m): return "cannot decode column \(c): \(m)"
        case .closed: return "database pool closed"
        case .nulInParameter(let index): return "parameter $\(index + 1) holds a NUL character"
        }
    }

    /// True when the failure says the database is unreachable, not that the query was wrong.
    public var isUnavailable: Bool {
        switch self {
        case .connectionFailed, .connectionLost, .closed: return true
        case .server(let e): return e.sqlState.hasPrefix("08") || e.sqlState.hasPrefix("57P")
        case .decoding, .nulInParameter: return false
        }
    }

    /// True when the failure says a value given to the query cannot be stored as text: a NUL in a
    /// parameter, or `\u0000` inside JSON given to jsonb (22P05). The caller's input, not a bug.
    public var isUnstorableText: Bool {
        switch self {
        case .nulInParameter: return true
        case .server(let e): return e.sqlState == "22P05"
        default: return false
        }
    }
}

/// The fields of a server error that callers act on.
public struct ServerError: Sendable, Equatable {
    public var sqlState: String
    public var message: String
    public var detail: String?
    public var constraint: String?

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    public var isCheckViolation: Bool { sqlState == "23514" }
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }
}
