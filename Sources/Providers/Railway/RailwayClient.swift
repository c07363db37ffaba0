import Foundation
import Resources

/// What the controller needs to know of one instance's Railway project.
public struct RailwayProject: Sendable, Equatable {
    public var id: String
    public var name: String
    public var environmentID: String?
    /// The service the instance runs: the one with a deployment, else the first.
    public var serviceID: String?
    /// Every service of the project. More than one is a stray: a deposed leader's `serviceCreate`
    /// answered after the next leader made the instance's own.
    public var serviceIDs: [String] = []
    /// The generated public domain, taken as an opaque string.
    public var domain: String?
    /// The latest deployment's `DeploymentStatus` (`SUCCESS`, `DEPLOYING`, `FAILED`, ...); nil before the first.
    public var deploymentStatus: DeployStatus?
    public var volumeID: String?

    public init(id: String, name: String, environmentID: String? = nil, serviceID: String? = nil, domain: String? = nil,
                deploymentStatus: DeployStatus? = nil, volumeID: String? = nil) {
        self.id = id
        self.name = name
        self.environmentID = environmentID
        self.serviceID = serviceID
        self.domain = domain
        self.deploymentStatus = deploymentStatus
        self.volumeID = volumeID
    }
}

/// Railway's public GraphQL API (v2). Every request carries `operationName`, as the CLI sends it.
/// Errors arrive as HTTP 200 with an `errors` array; they are classified like HTTP failures.
public final class RailwayClient: Sendable {
    let http: ProviderHTTPClient
    let endpoint: URL
    /// The token pool: creation paced per token, quota per token.
    public let tokens: RailwayTokens
    let workspaceID: String?

    public init(endpoint: URL, tokens: RailwayTokens, workspaceID: String?, http: ProviderHTTPClient = ProviderHTTPClient(provider: "railway")) {
        self.endpoint = endpoint
        self.tokens = tokens
        self.workspaceID = workspaceID
        self.http = http
    }

    /// One token (or none: the provider is disabled).
    public convenience init(endpoint: URL, token: String?, workspaceID: String?, http: ProviderHTTPClient = ProviderHTTPClient(provider: "railway")) {
        self.init(endpoint: endpoint, tokens: RailwayTokens(token.map { [$0] } ?? []), workspaceID: workspaceID, http: http)
    }

    public var stats: ProviderStats { http.stats }
    public var breaker: CircuitBreaker { http.breaker }

    /// Every project of the workspace, in one paged query: the batch status call.
    public func projects() async throws(ProviderError) -> [RailwayProject] {
        var all: [RailwayProject] = []
        try await eachProjectPage { all.append(contentsOf: $0) }
        return all
    }

    /// Every project of the workspace, a page (100) at a time: `page` takes each as it arrives, so
    /// a caller that keeps less than the projects (a resync of 50,000) never holds them all.
    public func eachProjectPage(_ page: ([RailwayProject]) -> Void) async throws(ProviderError) {
        var after: JSONValue = .null
        repeat {
            let data = try await call(.projects, ["workspaceId": workspaceID.map(JSONValue.string) ?? .null, "first": .int(100), "after": after])
            let connection = data["projects"]
            page((connection?["edges"]?.arrayValue ?? []).compactMap { edge in edge["node"].map(Self.project) })
            let info = connection?["pageInfo"]
            after = info?["hasNextPage"] == .bool(true) ? (info?["endCursor"] ?? .null) : .null
        } while after != .null
    }

    public func project(named name: String) async throws(ProviderError) -> RailwayProject? {
        try await projects().first { $0.name == name }
    }

    /// One project with its environment, service, domain, latest deployment and volume; nil when gone.
    public func project(id: String) async throws(ProviderError) -> RailwayProject? {
        do {
            let data = try await call(.project, ["id": .string(id)])
            guard let node = data["project"], node != .null else { return nil }
            var project = Self.project(node)
            let volume = node["volumes"]?["edges"]?.arrayValue?.first { edge in
                edge["node"]?["volumeInstances"]?["edges"]?.arrayValue?.contains { $0["node"]?["mountPath"]?.stringValue == "/data" } ?? false
            }
            project.volumeID = volume?["node"]?["id"]?.stringValue
            return project
        } catch where error.kind == .notFound {
            return nil
        }
    }

    /// Deletes the project; one already gone counts as deleted.
    public func deleteProject(id: String) async throws(ProviderError) {
        do {
            _ = try await call(.projectDelete, ["id": .string(id)])
        } catch where error.kind == .notFound {
            return
        }
    }

    /// Deletes one service of a project (a stray); one already gone counts as deleted.
    public func deleteService(id: String, environmentID: String?) async throws(ProviderError) {
        do {
            _ = try await call(.serviceDelete, ["id": .string(id), "environmentId": environmentID.map(JSONValue.string) ?? .null])
        } catch where error.kind == .notFound {
            return
        }
    }

    /// One GraphQL call on a token of the pool; the create steps in `RailwayClient+Create.swift` use
    /// it too. A token out of quota or paced is set aside and the next one tried; when none is
    /// left, `.rateLimited` says how long until one is, and no request is sent.
    func call(_ document: RailwayDocument, _ variables: [String: JSONValue],
              beforeSend: (() async throws -> Void)? = nil) async throws(ProviderError) -> JSONValue {
        guard tokens.count > 0 else { throw ProviderError(.notConfigured, provider: "railway", message: "RAILWAY_API_TOKEN is not set") }
        let body = JSONValue.object(["query": .string(document.text), "operationName": .string(document.rawValue),
                                     "variables": .object(variables)])
        let purpose: RailwayTokens.Purpose = document == .projectCreate ? .projectCreate : document == .volumeCreate ? .volumeCreate : .other
        var sent = false
        for _ in 0..<tokens.count {
            let lease: RailwayTokens.Lease
            switch tokens.take(purpose) {
            case .success(let l): lease = l
            case .failure(let e):
                http.stats.record(document.rawValue, outcome: "deferred", latency: .zero)
                throw e
            }
            if !sent, let beforeSend {
                do { try await beforeSend() } catch {
                    // Nothing was sent: the token is free again (its create in flight was this one).
                    // Kept, it refused every later create of this process (found by freezing a leader).
                    tokens.finished(lease, purpose)
                    throw ProviderError(.retryable, provider: "railway", message: "could not record the intent: \(error)")
                }
                sent = true
            }
            let request = ProviderHTTPClient.Request(
                method: "POST", url: endpoint, headers: ["Authorization": "Bearer \(lease.value)", "Content-Type": "application/json"],
                body: body.canonicalData(), idempotent: document.idempotent, operation: document.rawValue)
            let response: ProviderHTTPClient.Response
            defer { tokens.finished(lease, purpose) }
            do {
                response = try await http.send(request, classify: Self.graphQLError, gate: lease.gate)
            } catch where error.kind == .paced {
                tokens.paced(lease, purpose, retryAfter: error.retryAfter)
                continue
            } catch where error.kind == .rateLimited && tokens.count > 1 {
                continue
            }
            guard let data = JSONValue(jsonBody: response.body)?["data"], data != .null else {
                throw ProviderError(.terminal, provider: "railway", message: "\(document.rawValue): response has no data")
            }
            tokens.created(lease, purpose)
            return data
        }
        // Every token was tried: the error says when the first is free again.
        if case .failure(let e) = tokens.take(purpose) { throw e }
        throw ProviderError(.rateLimited, provider: "railway", message: "every Railway token was refused", retryAfter: .seconds(1))
    }

    /// Railway answers resolver failures with HTTP 200 and `{"errors":[{"message"}],"data":null}`.
    static let graphQLError: ProviderHTTPClient.Classifier = { response in
        // Most answers carry no errors: no second parse of a page of a hundred projects for them.
        guard response.body.range(of: Data("\"errors\"".utf8)) != nil else { return nil }
        guard let errors = JSONValue(jsonBody: response.body)?["errors"]?.arrayValue, let first = errors.first else { return nil }
        let message = first["message"]?.stringValue ?? "GraphQL error"
        let lower = message.lowercased()
        let kind: ProviderError.Kind
        // Per-token creation limits (convos-system.md section 3): about one project per 30 s, the
        // number read from the words when they give one.
        if lower.contains("only one project can be created") || lower.contains("creating volumes too quickly") {
            return ProviderError(.paced, provider: "railway", message: message, status: response.status,
                                 retryAfter: statedPace(lower).map { .milliseconds(Int64($0 * 1000)) })
        }
        if lower.contains("not authorized") || lower.contains("token not found") { kind = .unauthorized }
        else if lower.contains("not found") { kind = .notFound }
        else if lower.contains("already exists") { kind = .conflict }
        else if lower.contains("problem processing request") { kind = .retryable }
        else { kind = .terminal }
        return ProviderError(kind, provider: "railway", message: message, status: response.status)
    }

    /// The pace a creation limit's words state: "...every 30 seconds" is 30, "every 2 minutes" 120;
    /// nil when they give no number.
    static func statedPace(_ message: String) -> Double? {
        let words = message.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "." }).map(String.init)
        guard let every = words.firstIndex(of: "every"), every + 2 < words.count, let n = Double(words[every + 1]), n > 0 else { return nil }
        switch words[every + 2] {
        case "second", "seconds", "s", "sec", "secs": return n
        case "minute", "minutes", "min", "mins": return n * 60
        default: return nil
        }
    }

    static func project(_ node: JSONValue) -> RailwayProject {
        let environment = node["environments"]?["edges"]?.arrayValue?.first?["node"]
        let services = (node["services"]?["edges"]?.arrayValue ?? []).compactMap { $0["node"] }
        func instance(_ service: JSONValue?) -> JSONValue? { service?["serviceInstances"]?["edges"]?.arrayValue?.first?["node"] }
        // A stray service never deployed (nothing commits to it): the deployed one is the instance's.
        let service = services.first { (instance($0)?["latestDeployment"]).map { $0 != .null } ?? false } ?? services.first
        let running = instance(service)
        var project = RailwayProject(
            id: node["id"]?.stringValue ?? "", name: node["name"]?.stringValue ?? "",
            environmentID: environment?["id"]?.stringValue, serviceID: service?["id"]?.stringValue,
            domain: running?["domains"]?["serviceDomains"]?.arrayValue?.first?["domain"]?.stringValue,
            deploymentStatus: running?["latestDeployment"]?["status"]?.stringValue.map(DeployStatus.init(rawValue:)))
        project.serviceIDs = services.compactMap { $0["id"]?.stringValue }
        return project
    }
}

extension JSONValue {
    public init?(jsonBody: Data) {
        guard let value = try? JSONValue.parse(jsonBody) else { return nil }
        self = value
    }
}
