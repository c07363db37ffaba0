import Foundation
internal import CLibPQ

/// Session settings applied on every (re)connect.
public struct SessionSettings: Sendable {
    /// Bounds any statement; a runaway query cannot hold a connection for long.
    public var statementTimeoutMs: Int = 15_000
    /// Bounds a transaction left open by a stalled caller.
    public var idleInTransactionTimeoutMs: Int = 30_000
    /// Seconds libpq waits for the server to answer a connect.
    public var connectTimeoutSeconds: Int = 3
    public var applicationName: String = "convos-controller"
    public init() {}
}

/// One libpq connection, owned by an actor whose jobs run on the connection's own thread.
///
/// Every blocking libpq call (`PQconnectdbParams`, `PQexecParams`, `PQreset`) happens inside this
/// actor, so it runs on that thread and never on Swift's cooperative pool. The pool hands a
/// connection to one caller at a time. A connection that breaks is marked `isBroken` and is
/// re-established by `reconnectIfNeeded()` on its next checkout.
public actor PostgresConnection {
    private let executor: ThreadExecutor
    private let url: String
    private let settings: SessionSettings
    private var handle: OpaquePointer?
    /// Set when a call saw the connection break, or when it was never established.
    public private(set) var isBroken = true
    /// True between BEGIN and COMMIT/ROLLBACK, so a returned connection is never left mid-transaction.
    var inTransaction = false
    /// Statements prepared on this session; a reconnect starts a new session with none.
    private var prepared: Set<String> = []
    /// Plain-text statements prepared on this session (`query(_:_:)`), by their text.
    private var cache = StatementCache()

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(url: String, settings: SessionSettings = SessionSettings(), name: String = "postgres") {
        self.url = url
        self.settings = settings
        self.executor = ThreadExecutor(name: name)
    }

    // Isolated, so PQfinish runs on the connection's thread like every other libpq call.
    isolated deinit {
        if let handle { PQfinish(handle) }
        executor.shutdown()
    }

    /// Connects if the connection is new or broken. Throws `connectionFailed` with libpq's message.
    public func reconnectIfNeeded() throws {
        guard isBroken else { return }
        if let handle { PQfinish(handle); self.handle = nil }
        // Defaults first, the caller's URL last: later keywords win, so the URL can override them.
        let pairs: [(String, String)] = [
            ("connect_timeout", String(settings.connectTimeoutSeconds)),
            ("application_name", settings.applicationName),
            ("dbname", url),
        ]
        let conn = withCStringArray(pairs.map(\.0)) { keys in
            withCStringArray(pairs.map(\.1)) { values in
                PQconnectdbParams(keys, values, 1)
            }
        }
        guard let conn else { throw PostgresError.connectionFailed("out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.clean(PQerrorMessage(conn))
            PQfinish(conn)
            throw PostgresError.connectionFailed(message)
        }
        handle = conn
        isBroken = false
        inTransaction = false
        prepared.removeAll()
        cache = StatementCache()
        try runScript("""
            SET statement_timeout = \(settings.statementTimeoutMs);
            SET idle_in_transaction_session_timeout = \(settings.idleInTransactionTimeoutMs);
            SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET client_min_messages = warning
            """)
    }

    /// Runs one statement with bound parameters and returns its rows. A query (SELECT, INSERT,
    /// UPDATE, DELETE, WITH) is prepared on this session the first time its text is seen and only
    /// executed after that, as drivers' statement caches do: planning the tick's and the
    /// configure's statements cost more than running them (pg_stat_statements under a claim load).
    /// The cache is bounded (`StatementCache.capacity`): when full, the least recently used
    /// statement is deallocated between transactions, and inside one a new text runs unprepared.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> PostgresRows {
        guard StatementCache.cacheable(sql), let handle, !isBroken else { return try execute(sql, parameters) }
        let name: String
        if let known = cache.name(for: sql) {
            name = known
        } else {
            if cache.isFull {
                // DEALLOCATE fails in an aborted transaction: evict only outside one.
                guard !inTransaction, let evicted = cache.evict() else { return try execute(sql, parameters) }
                try runScript("DEALLOCATE \(evicted.name)")
            }
            let fresh = cache.insert(sql)
            let result = PQprepare(handle, fresh, sql, Int32(parameters.count), nil)
            defer { if let result { PQclear(result) } }
            guard let result, PQresultStatus(result) == PGRES_COMMAND_OK else {
                cache.remove(sql)
                try fail(handle, result)
            }
            name = fresh
        }
        return try execute(parameters) { handle, count, values in
            PQexecPrepared(handle, name, count, values, nil, nil, 0)
        }
    }

    /// Runs a prepared statement with bound parameters, preparing it on this session first if needed.
    public func query(_ statement: PreparedStatement, _ parameters: [any PostgresEncodable] = []) throws -> PostgresRows {
        try prepare(statement)
        return try execute(parameters) { handle, count, values in
            PQexecPrepared(handle, statement.name, count, values, nil, nil, 0)
        }
    }

    /// Prepares `statement` on this session unless it is already (`PostgresPool.warm` does it
    /// ahead of the first request).
    public func prepare(_ statement: PreparedStatement) throws {
        guard let handle, !isBroken else { throw PostgresError.connectionLost("connection is not open") }
        guard !prepared.contains(statement.name) else { return }
        // Parameter types are left to the server, as PQexecParams leaves them.
        let result = PQprepare(handle, statement.name, statement.sql, 0, nil)
        defer { if let result { PQclear(result) } }
        guard let result, PQresultStatus(result) == PGRES_COMMAND_OK else { try fail(handle, result) }
        prepared.insert(statement.name)
    }

    /// Runs a script of several statements with no parameters (`PQexec`): migrations and session
    /// set-up only. Anything carrying values goes through `query`, which always binds them.
    public func runScript(_ sql: String) throws {
        guard let handle, !isBroken else { throw PostgresError.connectionLost("connection is not open") }
        let result = PQexec(handle, sql)
        defer { if let result { PQclear(result) } }
        guard let result else { try fail(handle, nil) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY: return
        default: try fail(handle, result)
        }
    }

    /// Marks the connection for reconnection; the pool calls this when a caller abandons it mid-use.
    func markBroken() { isBroken = true }

    private func execute(_ sql: String, _ parameters: [any PostgresEncodable]) throws -> PostgresRows {
        try execute(parameters) { handle, count, values in
            PQexecParams(handle, sql, count, nil, values, nil, nil, 0)
        }
    }

    /// Binds the parameters as text, runs `send` (one libpq call on this thread) and reads its result.
    private func execute(_ parameters: [any PostgresEncodable],
                         _ send: (OpaquePointer, Int32, UnsafePointer<UnsafePointer<CChar>?>) -> OpaquePointer?) throws -> PostgresRows {
        guard let handle, !isBroken else { throw PostgresError.connectionLost("connection is not open") }
        let texts = parameters.map(\.postgresText)
        if let index = texts.firstIndex(where: { $0?.utf8.contains(0) == true }) { throw PostgresError.nulInParameter(index: index) }
        let result: OpaquePointer? = withOptionalCStringArray(texts) { values in send(handle, Int32(texts.count), values) }
        defer { if let result { PQclear(result) } }
        guard let result else {
            try fail(handle, nil)
        }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return Self.materialize(result)
        default:
            try fail(handle, result)
        }
    }

    private func fail(_ handle: OpaquePointer, _ result: OpaquePointer?) throws -> Never {
        if PQstatus(handle) != CONNECTION_OK {
            isBroken = true
            throw PostgresError.connectionLost(Self.clean(PQerrorMessage(handle)))
        }
        guard let result else { throw PostgresError.connectionLost(Self.clean(PQerrorMessage(handle))) }
        func field(_ code: Character) -> String? {
            guard let p = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: p)
        }
        let error = ServerError(
            sqlState: field("C") ?? "XX000",
            message: field("M") ?? Self.clean(PQresultErrorMessage(result)),
            detail: field("D"),
            constraint: field("n")
        )
        // Admin shutdown and similar fatal states leave the socket unusable even if libpq still says OK.
        if error.sqlState.hasPrefix("57P") || error.sqlState.hasPrefix("08") { isBroken = true }
        throw PostgresError.server(error)
    }

    private static func materialize(_ result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            values.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, values: values, affectedRows: affected)
    }

    private static func clean(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: "; ")
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStringArray(strings.map(Optional.some), body)
}

private func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
