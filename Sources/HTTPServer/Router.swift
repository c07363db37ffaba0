/// Routes by method and path pattern (`/v1/:kind/:name`); answers 404 and 405 in the contract's shape.
///
/// Handlers may throw `HTTPError` to answer with it; any other error becomes a 500 whose body says
/// nothing of the cause, which goes to `onError` for logging instead.
public struct Router: HTTPResponder {
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse

    struct Route: Sendable {
        let method: String
        let segments: [Substring]
        let pattern: String
        let handler: Handler
    }

    private var routes: [Route] = []
    /// Wraps every matched handler: authentication, logging, metrics.
    public var middleware: @Sendable (HTTPRequest, String, Handler) async throws -> HTTPResponse = { request, _, next in
        try await next(request)
    }
    public var onError: @Sendable (HTTPRequest, any Error) -> Void = { _, _ in }

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: Self.segments(pattern), pattern: pattern, handler: handler))
    }

    /// Every `METHOD pattern` served, for the OpenAPI document's test.
    public var table: [(method: String, pattern: String)] { routes.map { ($0.method, $0.pattern) } }

    /// Serves the request with the most specific pattern matching its path: literal segments beat
    /// parameters, the first difference from the left deciding, so `/v1/apply` is its own resource
    /// and `GET /v1/apply` is a 405 rather than a lookup of a kind called "apply". A path whose
    /// pattern has no route for the method is a 405 naming the methods it has.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let segments = Self.segments(request.path)
        let matches = routes.compactMap { route in Self.match(route.segments, segments).map { (route: route, parameters: $0) } }
        guard let best = matches.map(\.route.segments).max(by: { Self.isMoreSpecific($1, than: $0) }) else {
            return HTTPError.notFound("no route for \(request.method) \(request.path)").response
        }
        let candidates = matches.filter { $0.route.segments == best }
        guard let (route, parameters) = candidates.first(where: { $0.route.method == request.method })
                ?? candidates.first(where: { request.method == "HEAD" && $0.route.method == "GET" }) else {
            var error = HTTPError(status: 405, code: "MethodNotAllowed", message: "\(request.method) is not allowed on \(request.path)")
            error.headers = [("Allow", Set(candidates.map(\.route.method)).sorted().joined(separator: ", "))]
            return error.response
        }
        var matched = request
        matched.pathParameters = parameters
        do {
            return try await middleware(matched, route.pattern, route.handler)
        } catch let error as HTTPError {
            return error.response
        } catch {
            onError(matched, error)
            return HTTPError(status: 500, code: "InternalError", message: "internal error; see the server log for request \(request.requestID)").response
        }
    }

    /// A path's segments, split at every "/" scalar. Splitting by Character would miss a slash that
    /// a combining mark or emoji modifier joins into one grapheme (`/🏻`): schemathesis found
    /// `DELETE /instances/🏻` answered "no route".
    static func segments(_ path: String) -> [Substring] {
        path.unicodeScalars.split(separator: "/").map { Substring($0) }
    }

    /// Patterns of equal length compared from the left: at the first segment where one is literal and
    /// the other a parameter, the literal one is more specific.
    static func isMoreSpecific(_ a: [Substring], than b: [Substring]) -> Bool {
        for (x, y) in zip(a, b) {
            let (xParameter, yParameter) = (x.first == ":", y.first == ":")
            if xParameter != yParameter { return yParameter }
        }
        return false
    }

    static func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (p, s) in zip(pattern, path) {
            if p.first == ":" { parameters[String(p.dropFirst())] = String(s) }
            else if p != s { return nil }
        }
        return parameters
    }
}
