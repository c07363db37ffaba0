import Foundation

/// A value bound as a query parameter, sent in Postgres text format. `nil` text is SQL NULL.
/// Parameters are always bound (`PQexecParams`), never spliced into SQL.
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

/// A value read from a column's text format.
public protocol PostgresDecodable: Sendable {
    /// `text` is nil for SQL NULL.
    static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Self
}

/// Why a column's text could not be read; `Row` adds the column name.
public struct PostgresDecodingFailure: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> String {
        guard let text else { throw PostgresDecodingFailure("unexpected NULL") }
        return text
    }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int {
        guard let text, let v = Int(text) else { throw PostgresDecodingFailure("not an integer: \(text ?? "NULL")") }
        return v
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Double {
        guard let text, let v = Double(text) else { throw PostgresDecodingFailure("not a number: \(text ?? "NULL")") }
        return v
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self ? "t" : "f" }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Bool {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: throw PostgresDecodingFailure("not a boolean: \(text ?? "NULL")")
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { uuidString.lowercased() }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> UUID {
        guard let text, let v = UUID(uuidString: text) else { throw PostgresDecodingFailure("not a uuid: \(text ?? "NULL")") }
        return v
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    /// ISO 8601 with microseconds and an explicit UTC offset, which `timestamptz` reads exactly.
    public var postgresText: String? { PostgresTimestamp.format(self) }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Date {
        guard let text, let v = PostgresTimestamp.parse(text) else {
            throw PostgresDecodingFailure("not a timestamp: \(text ?? "NULL")")
        }
        return v
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decode(postgresText: text)
    }
}

/// Raw JSON text for a `json`/`jsonb` parameter or column.
public struct JSONText: PostgresEncodable, PostgresDecodable, Equatable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(data: Data) { self.text = String(decoding: data, as: UTF8.self) }
    public var data: Data { Data(text.utf8) }
    public var postgresText: String? { text }
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> JSONText {
        guard let text else { throw PostgresDecodingFailure("unexpected NULL") }
        return JSONText(text)
    }
}

/// Formats and parses `timestamptz` text as the server sends it with `DateStyle=ISO` and `TimeZone=UTC`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
                      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
    }

    /// Reads `YYYY-MM-DD HH:MM:SS[.ffffff]+00` (the session runs in UTC).
    static func parse(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count >= 19 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            var v = 0
            for i in from..<(from + len) {
                guard i < u.count, u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2) else { return nil }
        var i = 19
        var micros = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(u[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 6 { micros *= 10; digits += 1 }
        }
        var offset = 0
        if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = num(i + 1, 2) else { return nil }
            let om = (i + 5 < u.count + 1 && i + 3 < u.count && u[i + 3] == UInt8(ascii: ":")) ? (num(i + 4, 2) ?? 0) : 0
            offset = sign * (oh * 3600 + om * 60)
        }
        var parts = tm()
        parts.tm_year = Int32(y - 1900); parts.tm_mon = Int32(mo - 1); parts.tm_mday = Int32(d)
        parts.tm_hour = Int32(h); parts.tm_min = Int32(mi); parts.tm_sec = Int32(s)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(Int(epoch) - offset) + Double(micros) / 1_000_000)
    }
}
