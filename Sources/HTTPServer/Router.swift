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
        routes.append(Route(method: method, segments: pattern.split(separator: "/"), pattern: pattern, handler: handler))
    }

    /// Every `METHOD pattern` served, for the OpenAPI document's test.
    public var table: [(method: String, pattern: String)] { routes.map { ($0.method, $0.pattern) } }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let segments = request.path.split(separator: "/")
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.match(route.segments, segments) else { continue }
            guard route.method == request.method || (request.method == "HEAD" && route.method == "GET") else {
                allowed.append(route.method)
                continue
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
        if !allowed.isEmpty {
            var error = HTTPError(status: 405, code: "MethodNotAllowed", message: "\(request.method) is not allowed on \(request.path)")
            error.headers = [("Allow", Array(Set(allowed)).sorted().joined(separator: ", "))]
            return error.response
        }
        return HTTPError.notFound("no route for \(request.method) \(request.path)").response
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
