import Foundation

/// GHCR through the OCI distribution API: a 401 challenge naming the token realm, an anonymous
/// token endpoint, and manifests that carry `Docker-Content-Digest`.
extension SimCloud {
    func manifest(repository: String, reference: String, authorization: String?) -> SimResponse {
        let scope = "repository:\(repository):pull"
        guard let auth = authorization, auth.hasPrefix("Bearer "), registryTokens.contains(String(auth.dropFirst(7))) else {
            return SimResponse.json(["errors": [["code": "UNAUTHORIZED", "message": "authentication required"]]], status: 401, headers: [
                ("WWW-Authenticate", "Bearer realm=\"\(baseURL)/ghcr/token\",service=\"ghcr.io\",scope=\"\(scope)\""),
                ("Docker-Distribution-Api-Version", "registry/2.0"),
            ])
        }
        if reference == "missing" {
            return SimResponse.json(["errors": [["code": "MANIFEST_UNKNOWN", "message": "manifest unknown"]]], status: 404)
        }
        let digest = digest(repository: repository, tag: reference)
        let body = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.utf8)
        return SimResponse(status: 200, headers: [("Content-Type", "application/vnd.oci.image.index.v1+json"),
                                                  ("Docker-Content-Digest", digest)], body: body)
    }

    func registryToken() -> SimResponse {
        let token = "djE6" + nextID()
        registryTokens.insert(token)
        return .json(["token": token])
    }

    /// The digest a tag points to; stable until `moveTag` points it elsewhere.
    func digest(repository: String, tag: String) -> String {
        let key = "\(repository):\(tag)"
        if let d = digests[key] { return d }
        let d = Self.randomDigest()
        digests[key] = d
        return d
    }

    /// Moves a tag to a new digest, as a push of a new image would; `image` says how it runs.
    func moveTag(repository: String, tag: String, image: SimImage = SimImage()) -> String {
        let d = Self.randomDigest()
        digests["\(repository):\(tag)"] = d
        images[d] = image
        return d
    }

    /// How the service's image runs (by its digest); an image never pushed here runs well, as `sim-1`.
    func image(_ service: Service) -> SimImage {
        guard let reference = service.image, let at = reference.firstIndex(of: "@") else { return SimImage() }
        return images[String(reference[reference.index(after: at)...])] ?? SimImage()
    }

    static func randomDigest() -> String {
        "sha256:" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
