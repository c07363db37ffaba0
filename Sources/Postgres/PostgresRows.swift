/// The materialized result of one statement: column names, rows of text values, affected count.
/// It is a plain value, so it crosses from a connection's thread to any caller.
public struct PostgresRows: Sendable {
    public let columns: [String]
    public let values: [[String?]]
    /// Rows inserted, updated or deleted (`PQcmdTuples`); 0 for statements that report none.
    public let affectedRows: Int
    /// Column name to position, built once: a tick decodes thousands of rows by name.
    private let positions: [String: Int]

    public init(columns: [String], values: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.values = values
        self.affectedRows = affectedRows
        // The first of two same-named columns wins, as a search from the left would find it.
        self.positions = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var first: Row? { values.isEmpty ? nil : Row(rows: self, index: 0) }
    public var rows: [Row] { values.indices.map { Row(rows: self, index: $0) } }

    /// One row, read by column name into typed values.
    public struct Row: Sendable {
        let rows: PostgresRows
        let index: Int

        public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
            guard let c = rows.positions[column] else {
                throw PostgresError.decoding(column: column, message: "no such column")
            }
            do {
                return try T.decode(postgresText: rows.values[index][c])
            } catch {
                throw PostgresError.decoding(column: column, message: error.message)
            }
        }

        public subscript(column: String) -> String? {
            guard let c = rows.positions[column] else { return nil }
            return rows.values[index][c]
        }
    }
}
