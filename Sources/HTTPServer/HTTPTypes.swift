import Foundation

/// A complete request: headers and a body already read (never more than the server's limit).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded by libmicrohttpd.
    public var path: String
    public var query: [String: String]
    /// Header names are lowercased.
    public var headers: [String: String]
    public var body: Data
    /// Values of `:name` segments of the matched route.
    public var pathParameters: [String: String] = [:]
    /// A short id for correlating log lines, from `X-Request-Id` when the client sent one.
    public var requestID: String

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
                body: Data = Data(), requestID: String = HTTPRequest.newID()) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.requestID = requestID
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The media type of the body without parameters, lowercased: `application/yaml`.
    public var contentType: String? {
        // Byte-wise: every request with a body asks, and Foundation's trimming is slow on Linux.
        guard let value = header("content-type") else { return nil }
        let type = value.utf8.prefix { $0 != UInt8(ascii: ";") }.drop { $0 == 32 || $0 == 9 }
        let end = type.lastIndex { $0 != 32 && $0 != 9 }.map { type.index(after: $0) } ?? type.startIndex
        return String(decoding: type[type.startIndex..<end], as: UTF8.self).lowercased()
    }

    public static func newID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    /// A body written while it is sent (chunked); `body` is ignored when set.
    public var stream: HTTPStream?

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(HTTPDate.iso8601(date))
        }
        do {
            return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: try encoder.encode(value))
        } catch {
            return HTTPError(status: 500, code: "InternalError", message: "response could not be encoded").response
        }
    }

    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: Data(text.utf8))
    }
}

/// An error a handler throws to answer with the contract's shape:
/// `{"error": {"code", "message", "details": [{"path", "message"}]}}`.
public struct HTTPError: Error, Sendable, Encodable {
    public struct Detail: Sendable, Encodable, Equatable {
        public var path: String
        public var message: String
        public var object: String?
        public var line: Int?
        public var column: Int?
        public init(path: String, message: String, object: String? = nil, line: Int? = nil, column: Int? = nil) {
            self.path = path
            self.message = message
            self.object = object
            self.line = line
            self.column = column
        }
    }

    public var status: Int
    public var code: String
    public var message: String
    public var details: [Detail]
    public var headers: [(String, String)] = []

    public init(status: Int, code: String, message: String, details: [Detail] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    enum CodingKeys: String, CodingKey { case code, message, details }
    struct Envelope: Encodable { let error: HTTPError }

    public var response: HTTPResponse {
        var r = HTTPResponse.json(Envelope(error: self), status: status)
        r.headers += headers
        return r
    }

    public static func badRequest(_ message: String, details: [Detail] = []) -> HTTPError {
        HTTPError(status: 400, code: "Invalid", message: message, details: details)
    }
    public static func notFound(_ message: String) -> HTTPError { HTTPError(status: 404, code: "NotFound", message: message) }
    public static func conflict(_ message: String, details: [Detail] = []) -> HTTPError {
        HTTPError(status: 409, code: "Conflict", message: message, details: details)
    }
    public static func unprocessable(_ message: String, details: [Detail] = []) -> HTTPError {
        HTTPError(status: 422, code: "Unprocessable", message: message, details: details)
    }
    public static func unsupportedMediaType(_ message: String) -> HTTPError {
        HTTPError(status: 415, code: "UnsupportedMediaType", message: message)
    }
    public static func unavailable(_ message: String) -> HTTPError {
        HTTPError(status: 503, code: "Unavailable", message: message)
    }
    public static let unauthorized: HTTPError = {
        var e = HTTPError(status: 401, code: "Unauthorized", message: "missing or invalid bearer token")
        e.headers = [("WWW-Authenticate", "Bearer")]
        return e
    }()
    public static func forbidden(_ message: String) -> HTTPError { HTTPError(status: 403, code: "Forbidden", message: message) }
    public static func tooLarge(limit: Int) -> HTTPError {
        HTTPError(status: 413, code: "PayloadTooLarge", message: "request body is over the limit of \(limit) bytes")
    }
}

/// Answers requests. The server calls it from libmicrohttpd's threads through a Task; it must not block.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) async -> HTTPResponse
}

public enum HTTPDate {
    /// RFC 3339 in UTC with milliseconds: `2026-11-24T18:32:01.123Z`.
    public static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
            .timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
