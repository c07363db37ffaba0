import Foundation
import Resources
import YAML
import Store

extension KubeObject {
    /// A manifest from an object sent to the Kubernetes API (POST, PUT, a patched object): the same
    /// decoder and checks as `/v1/apply`. The kind and name must be the route's.
    package static func manifest(_ object: JSONValue, kind: ResourceKind, name: String?) throws -> Manifest {
        guard case .object(var fields) = object else {
            throw KubeStatus.badRequest("the body must be a JSON object")
        }
        // The route names the kind; an object without apiVersion or kind is taken as the route's.
        if fields["apiVersion"] == nil { fields["apiVersion"] = .string(groupVersion) }
        if fields["kind"] == nil { fields["kind"] = .string(kind.rawValue) }
        guard fields["kind"]?.stringValue == kind.rawValue else {
            throw KubeStatus.badRequest("kind \(fields["kind"]?.stringValue ?? "?") does not match the resource \(kind.plural)")
        }
        guard fields["apiVersion"]?.stringValue == groupVersion else {
            throw KubeStatus.badRequest("apiVersion must be \(groupVersion)")
        }
        let manifests: [Manifest]
        do {
            manifests = try ManifestDecoder.decode(documents: [JSONValue.object(fields).typedYAMLNode])
        } catch {
            throw KubeStatus.invalid(kind: kind, name: name ?? fields["metadata"]?["name"]?.stringValue ?? "", error.errors)
        }
        guard var manifest = manifests.first else { throw KubeStatus.badRequest("no object in the body") }
        if let name, manifest.name != name {
            throw KubeStatus.badRequest("metadata.name \(manifest.name) does not match the name in the path, \(name)")
        }
        // Kubernetes keeps annotations with the object: a write without them clears them.
        if manifest.annotations == nil { manifest.annotations = [:] }
        return manifest
    }
}
