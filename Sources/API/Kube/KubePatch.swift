import Foundation
import Resources

/// The patch formats of the Kubernetes API this server takes: JSON merge patch (RFC 7386, what
/// `kubectl apply` sends for kinds it does not know) and JSON patch (RFC 6902: add, remove,
/// replace, test). Pure functions over `JSONValue`.
package enum KubePatch {
    /// The patch types served, by the request's content type.
    package enum PatchType: Sendable {
        case merge, json

        package init(contentType: String?) throws {
            switch contentType {
            case "application/merge-patch+json": self = .merge
            case "application/json-patch+json": self = .json
            case "application/apply-patch+yaml":
                throw KubeStatus(code: 415, reason: .unsupportedMediaType,
                                 message: "server-side apply is not supported here; use client-side `kubectl apply` (the default)")
            default:
                throw KubeStatus(code: 415, reason: .unsupportedMediaType,
                                 message: "patch type \(contentType ?? "none") is not supported; send application/merge-patch+json or application/json-patch+json")
            }
        }
    }

    package static func apply(_ type: PatchType, _ patch: JSONValue, to target: JSONValue) throws -> JSONValue {
        switch type {
        case .merge: return merge(target, patch)
        case .json: return try json(target, patch)
        }
    }

    package static func merge(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in changes {
            if value == .null { result[key] = nil } else { result[key] = merge(result[key] ?? .null, value) }
        }
        return .object(result)
    }

    package static func json(_ target: JSONValue, _ operations: JSONValue) throws -> JSONValue {
        guard case .array(let ops) = operations else { throw KubeStatus.badRequest("a JSON patch is an array of operations") }
        var document = target
        for (index, op) in ops.enumerated() {
            guard let name = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw KubeStatus.badRequest("patch operation \(index): needs op and path")
            }
            let pointer = try Self.pointer(path)
            switch name {
            case "add", "replace":
                guard let value = op["value"] else { throw KubeStatus.badRequest("patch operation \(index): needs a value") }
                document = try set(document, pointer[...], value, adding: name == "add")
            case "remove":
                document = try remove(document, pointer[...])
            case "test":
                guard get(document, pointer[...]) == op["value"] else {
                    throw KubeStatus(code: 422, reason: .invalid, message: "the JSON patch test at \(path) failed")
                }
            default:
                throw KubeStatus.badRequest("patch operation \(index): \(name) is not supported (add, remove, replace, test are)")
            }
        }
        return document
    }

    package static func pointer(_ path: String) throws -> [String] {
        guard path.isEmpty || path.hasPrefix("/") else { throw KubeStatus.badRequest("\(path) is not a JSON pointer") }
        return path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            .map { $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") }
    }

    package static func get(_ value: JSONValue, _ path: ArraySlice<String>) -> JSONValue? {
        guard let key = path.first else { return value }
        switch value {
        case .object(let o): return o[key].flatMap { get($0, path.dropFirst()) }
        case .array(let a): return Int(key).flatMap { a.indices.contains($0) ? get(a[$0], path.dropFirst()) : nil }
        default: return nil
        }
    }

    package static func set(_ value: JSONValue, _ path: ArraySlice<String>, _ new: JSONValue, adding: Bool) throws -> JSONValue {
        guard let key = path.first else { return new }
        switch value {
        case .object(var o):
            if path.count == 1 {
                guard adding || o[key] != nil else { throw KubeStatus.badRequest("nothing at /\(key) to replace") }
                o[key] = new
            } else {
                guard let child = o[key] else { throw KubeStatus.badRequest("no field \(key)") }
                o[key] = try set(child, path.dropFirst(), new, adding: adding)
            }
            return .object(o)
        case .array(var a):
            if path.count == 1 && key == "-" && adding { a.append(new); return .array(a) }
            guard let i = Int(key), i >= 0, i <= a.count, adding || i < a.count else { throw KubeStatus.badRequest("index \(key) is out of range") }
            if path.count == 1 {
                if adding { a.insert(new, at: i) } else { a[i] = new }
            } else {
                guard i < a.count else { throw KubeStatus.badRequest("index \(key) is out of range") }
                a[i] = try set(a[i], path.dropFirst(), new, adding: adding)
            }
            return .array(a)
        default:
            throw KubeStatus.badRequest("cannot descend into a scalar at \(key)")
        }
    }

    package static func remove(_ value: JSONValue, _ path: ArraySlice<String>) throws -> JSONValue {
        guard let key = path.first else { throw KubeStatus.badRequest("cannot remove the whole object") }
        switch value {
        case .object(var o):
            guard let child = o[key] else { throw KubeStatus.badRequest("nothing at \(key) to remove") }
            o[key] = path.count == 1 ? nil : try remove(child, path.dropFirst())
            return .object(o)
        case .array(var a):
            guard let i = Int(key), a.indices.contains(i) else { throw KubeStatus.badRequest("index \(key) is out of range") }
            if path.count == 1 { a.remove(at: i) } else { a[i] = try remove(a[i], path.dropFirst()) }
            return .array(a)
        default:
            throw KubeStatus.badRequest("cannot descend into a scalar at \(key)")
        }
    }
}
