import Foundation
import HTTPServer
import Resources
import Store

/// Errors of the Kubernetes API, answered as `Status` objects (reason, code, and for Invalid the
/// field paths in `details.causes`), which kubectl prints as they are.
package struct KubeStatus: Error, Sendable {
    package enum Reason: String, Sendable {
        case notFound = "NotFound", alreadyExists = "AlreadyExists", conflict = "Conflict", invalid = "Invalid"
        case badRequest = "BadRequest", unauthorized = "Unauthorized", forbidden = "Forbidden"
        case methodNotAllowed = "MethodNotAllowed", unsupportedMediaType = "UnsupportedMediaType"
        case gone = "Gone", notAcceptable = "NotAcceptable", serviceUnavailable = "ServiceUnavailable"
        case tooManyRequests = "TooManyRequests", internalError = "InternalError"
    }

    package var code: Int
    package var reason: Reason
    package var message: String
    package var kind: ResourceKind?
    package var name: String?
    package var causes: [FieldError] = []

    package static func notFound(_ kind: ResourceKind, _ name: String) -> KubeStatus {
        KubeStatus(code: 404, reason: .notFound, message: "\(kind.plural).\(KubeObject.group) \"\(name)\" not found", kind: kind, name: name)
    }
    package static func alreadyExists(_ kind: ResourceKind, _ name: String) -> KubeStatus {
        KubeStatus(code: 409, reason: .alreadyExists, message: "\(kind.plural).\(KubeObject.group) \"\(name)\" already exists", kind: kind, name: name)
    }
    package static func conflict(_ kind: ResourceKind, _ name: String, _ why: String) -> KubeStatus {
        KubeStatus(code: 409, reason: .conflict,
                   message: "Operation cannot be fulfilled on \(kind.plural).\(KubeObject.group) \"\(name)\": \(why)", kind: kind, name: name)
    }
    package static func invalid(kind: ResourceKind, name: String, _ causes: [FieldError]) -> KubeStatus {
        let list = causes.map { "\($0.path.isEmpty ? "<body>" : $0.path): \($0.message)" }.joined(separator: ", ")
        return KubeStatus(code: 422, reason: .invalid, message: "\(kind.rawValue).\(KubeObject.group) \"\(name)\" is invalid: \(list)",
                          kind: kind, name: name, causes: causes)
    }
    package static func badRequest(_ message: String) -> KubeStatus { KubeStatus(code: 400, reason: .badRequest, message: message) }
    package static func gone(_ message: String) -> KubeStatus { KubeStatus(code: 410, reason: .gone, message: message) }

    /// The `Status` object.
    package var json: JSONValue {
        var status: [String: JSONValue] = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(message), "reason": .string(reason.rawValue), "code": .int(code),
        ]
        var details: [String: JSONValue] = [:]
        if let kind { details["group"] = .string(KubeObject.group); details["kind"] = .string(kind.plural) }
        if let name { details["name"] = .string(name) }
        if !causes.isEmpty {
            details["causes"] = .array(causes.map { cause in
                .object(["reason": "FieldValueInvalid", "message": .string(cause.message), "field": .string(cause.path)])
            })
        }
        if !details.isEmpty { status["details"] = .object(details) }
        return .object(status)
    }

    package var response: HTTPResponse { KubeResponse.json(json, status: code) }

    /// The Kubernetes answer for an error of the store or of the contract's routes.
    package static func from(_ error: any Error, kind: ResourceKind?, name: String?) -> KubeStatus? {
        switch error {
        case let status as KubeStatus: return status
        case StoreError.notFound(let k, let n): return .notFound(k, n)
        case StoreError.alreadyExists(let k, let n): return .alreadyExists(k, n)
        case StoreError.conflict(let message, let details):
            return KubeStatus(code: 409, reason: .conflict, message: message, kind: kind, name: name, causes: details)
        case StoreError.unprocessable(let message, let details):
            return KubeStatus(code: 422, reason: .invalid, message: message, kind: kind, name: name, causes: details)
        case let http as HTTPError:
            let reason: Reason = switch http.status {
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 405: .methodNotAllowed
            case 409: .conflict
            case 415: .unsupportedMediaType
            case 422: .invalid
            case 429: .tooManyRequests
            case 503: .serviceUnavailable
            case 400..<500: .badRequest
            default: .internalError
            }
            return KubeStatus(code: http.status, reason: reason, message: http.message, kind: kind, name: name)
        default: return nil
        }
    }
}

/// JSON answers of the Kubernetes routes: `JSONValue`, encoded as is.
package enum KubeResponse {
    package static func json(_ value: JSONValue, status: Int = 200, contentType: String = "application/json") -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: body)
    }
}
