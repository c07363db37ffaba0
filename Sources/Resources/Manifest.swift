import Foundation
import YAML

/// One object as a user declared it, decoded and validated; the input to `apply`.
public struct Manifest: Sendable, Equatable {
    public var kind: ResourceKind
    public var name: String
    public var labels: [String: String]
    /// Annotations, kept as given (kubectl's client-side apply stores its last-applied
    /// configuration here); nil leaves the stored ones as they are.
    public var annotations: [String: String]?
    /// When given, apply succeeds only if the stored object is at this version (optimistic concurrency).
    public var resourceVersion: String?
    /// The spec with defaults filled in, as stored.
    public var spec: JSONValue
    /// 1-based position of the document in the request.
    public var document: Int
    public var mark: Mark

    public init(kind: ResourceKind, name: String, labels: [String: String] = [:], annotations: [String: String]? = nil,
                resourceVersion: String? = nil, spec: JSONValue, document: Int = 1, mark: Mark = .none) {
        self.kind = kind
        self.name = name
        self.labels = labels
        self.annotations = annotations
        self.resourceVersion = resourceVersion
        self.spec = spec
        self.document = document
        self.mark = mark
    }

    /// `agenttemplate/concierge`, as the CLI prints it.
    public var reference: String { "\(kind.singular)/\(name)" }

    /// The typed spec; cannot fail for a manifest that came out of `ManifestDecoder`.
    public func typedSpec<S: ResourceSpec>(_ type: S.Type) throws -> S { try spec.decode(type) }
}

/// Every problem found in a request, each naming its object, field and line.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [FieldError]
    public init(_ errors: [FieldError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// Turns YAML or JSON documents into validated manifests, or reports everything wrong with them.
public enum ManifestDecoder {
    /// Parses a YAML stream (JSON is YAML too) and validates each document.
    public static func decode(yaml text: String, parser: YAMLParser = YAMLParser()) throws(ManifestErrors) -> [Manifest] {
        let documents: [YAMLNode]
        do {
            documents = try parser.parseStream(text)
        } catch {
            throw ManifestErrors([FieldError("", error.message, mark: error.mark)])
        }
        return try decode(documents: documents)
    }

    /// Validates parsed documents. A single document that is a sequence, or a `List` with `items`,
    /// counts as its elements, so `get -o yaml` output can be applied back.
    public static func decode(documents: [YAMLNode]) throws(ManifestErrors) -> [Manifest] {
        let flat = documents.flatMap { node -> [YAMLNode] in
            if case .sequence(let items) = node.kind { return items }
            if case .sequence(let items)? = node["items"]?.kind, node["spec"] == nil { return items }
            return [node]
        }
        guard !flat.isEmpty else { throw ManifestErrors([FieldError("", "no objects in the request")]) }
        var manifests: [Manifest] = []
        var errors: [FieldError] = []
        var seen: [String: Int] = [:]
        for (offset, node) in flat.enumerated() {
            let index = offset + 1
            switch decodeOne(node, index: index) {
            case .success(let manifest):
                if let first = seen[manifest.reference] {
                    errors.append(FieldError("metadata.name", "\(manifest.reference) appears twice (documents \(first) and \(index))",
                                             object: manifest.reference, mark: manifest.mark))
                } else {
                    seen[manifest.reference] = index
                    manifests.append(manifest)
                }
            case .failure(let failure):
                errors += failure.errors
            }
        }
        guard errors.isEmpty else { throw ManifestErrors(errors) }
        return manifests
    }

    private static func decodeOne(_ node: YAMLNode, index: Int) -> Result<Manifest, ManifestErrors> {
        let where_ = "document \(index)"
        guard case .mapping = node.kind else {
            return .failure(ManifestErrors([FieldError("", "expected an object (a mapping), got \(node.describedType)", object: where_, mark: node.mark)]))
        }
        let apiVersion = node["apiVersion"].flatMap(scalarText)
        let kindText = node["kind"].flatMap(scalarText)
        var errors: [FieldError] = []
        if apiVersion != ResourceKind.apiVersion {
            errors.append(FieldError("apiVersion", apiVersion == nil ? "required" : "must be \(ResourceKind.apiVersion)",
                                     object: where_, mark: node["apiVersion"]?.mark ?? node.mark))
        }
        guard let kindText, let kind = ResourceKind(rawValue: kindText) else {
            let message = kindText == nil ? "required" : "unknown kind \(YAMLNode.quoted(kindText!)); expected one of Pool, AgentTemplate, Agent, Coupon"
            errors.append(FieldError("kind", message, object: where_, mark: node["kind"]?.mark ?? node.mark))
            return .failure(ManifestErrors(errors))
        }
        let result: Result<Manifest, ManifestErrors>
        switch kind {
        case .pool: result = decode(PoolSpec.self, node, index: index)
        case .agentTemplate: result = decode(AgentTemplateSpec.self, node, index: index)
        case .agent: result = decode(AgentSpec.self, node, index: index)
        case .coupon: result = decode(CouponSpec.self, node, index: index)
        }
        switch result {
        case .success where !errors.isEmpty: return .failure(ManifestErrors(errors))
        case .failure(let more): return .failure(ManifestErrors(errors + more.errors))
        case .success: return result
        }
    }

    private static func decode<S: ResourceSpec>(_ type: S.Type, _ node: YAMLNode, index: Int) -> Result<Manifest, ManifestErrors> {
        let name = node["metadata"]?["name"].flatMap(scalarText)
        let object = name.map { "\(S.kind.singular)/\($0)" } ?? "document \(index)"
        let decoded: YAMLDecoder.Result<Envelope<S>>
        do {
            decoded = try YAMLDecoder().decode(Envelope<S>.self, from: node)
        } catch {
            return .failure(ManifestErrors([FieldError(error.path, error.message, object: object, mark: error.mark)]))
        }
        let envelope = decoded.value
        var errors = decoded.unknownFields.map { FieldError($0.path, $0.message, object: object, mark: $0.mark) }
        let located: (FieldError) -> FieldError = { e in
            FieldError(e.path, e.message, object: object, mark: locate(e.path, in: node) ?? node.mark)
        }
        errors += Check.dnsLabel(envelope.metadata.name, at: "metadata.name").map(located)
        errors += Check.labels(envelope.metadata.labels ?? [:], at: "metadata.labels").map(located)
        errors += Check.annotations(envelope.metadata.annotations ?? [:], at: "metadata.annotations").map(located)
        errors += envelope.spec.validate().map(located)
        guard errors.isEmpty else { return .failure(ManifestErrors(errors)) }
        var annotations = envelope.metadata.annotations
        // kubectl's client-side apply copies the whole object into an annotation: for a Coupon
        // that is its write-only code, so it is not kept.
        if S.kind == .coupon { annotations?["kubectl.kubernetes.io/last-applied-configuration"] = nil }
        do {
            return .success(Manifest(
                kind: S.kind, name: envelope.metadata.name, labels: envelope.metadata.labels ?? [:],
                annotations: annotations, resourceVersion: envelope.metadata.resourceVersion, spec: try JSONValue.from(envelope.spec),
                document: index, mark: node.mark))
        } catch {
            return .failure(ManifestErrors([FieldError("spec", "cannot be encoded: \(error)", object: object, mark: node.mark)]))
        }
    }

    /// The source mark of a dotted path with indices (`spec.tools[1].options.country`), for
    /// validation errors found after decoding; the nearest node that exists when the path runs out.
    static func locate(_ path: String, in node: YAMLNode) -> Mark? {
        var current = node
        for part in path.split(separator: ".") {
            // `tools[1]`: the key, then each index into the sequence under it.
            let pieces = part.split(separator: "[", omittingEmptySubsequences: false)
            guard let key = pieces.first, let next = current[String(key)] else { return current.mark }
            current = next
            for index in pieces.dropFirst() {
                guard case .sequence(let items) = current.kind, let i = Int(index.dropLast()), items.indices.contains(i) else { return current.mark }
                current = items[i]
            }
        }
        return current.mark
    }

    private static func scalarText(_ node: YAMLNode) -> String? {
        if case .scalar(let s) = node.kind { return s.text }
        return nil
    }
}

/// The envelope every document shares. `status` and server-set metadata are accepted and ignored,
/// so the output of `get -o yaml` can be applied back unchanged.
struct Envelope<Spec: ResourceSpec>: Decodable {
    var apiVersion: String
    var kind: String
    var metadata: MetadataInput
    var spec: Spec
    var status: JSONValue?
}

struct MetadataInput: Decodable {
    var name: String
    var labels: [String: String]?
    var annotations: [String: String]?
    var resourceVersion: String?
    var generation: Int?
    var createdAt: String?
    // Set by the server, as Kubernetes sets them: accepted and ignored, so that an object read
    // from the Kubernetes API (`kubectl get -o yaml`) can be sent back.
    var uid: String?
    var creationTimestamp: String?
    var deletionTimestamp: String?
    var deletionRequestedAt: String?
    var finalizers: [String]?
    var managedFields: JSONValue?
    var namespace: String?
}
