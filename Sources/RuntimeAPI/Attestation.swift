import CNettle
import Digest
import Foundation

/// The Ed25519 key that vouches for agents (`ATTESTATION_PRIVATE_KEY_PEM`, `ATTESTATION_KID`): it
/// signs sha256(inboxId + timestamp), as today's pool does, and its public half is served as a JWKS
/// at `/.well-known/agents.json` for anyone to verify. Ed25519 and SHA-256 are Nettle's.
public struct AttestationKey: Sendable {
    public let kid: String
    private let seed: [UInt8]
    public let publicKey: [UInt8]

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// A PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm ed25519` writes it).
    public init(pem: String, kid: String) throws {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body) else { throw Invalid(description: "ATTESTATION_PRIVATE_KEY_PEM is not a PEM block") }
        // PKCS#8 for Ed25519 is fixed: SEQUENCE { version 0, AlgorithmIdentifier 1.3.101.112, OCTET STRING { OCTET STRING seed } }.
        let prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        let bytes = [UInt8](der)
        guard bytes.count == 48, Array(bytes.prefix(16)) == prefix else {
            throw Invalid(description: "ATTESTATION_PRIVATE_KEY_PEM must be an Ed25519 private key in PKCS#8 (openssl genpkey -algorithm ed25519)")
        }
        try self.init(seed: Array(bytes.suffix(32)), kid: kid)
    }

    public init(seed: [UInt8], kid: String) throws {
        guard seed.count == 32 else { throw Invalid(description: "an Ed25519 seed is 32 bytes") }
        self.seed = seed
        self.kid = kid
        var pub = [UInt8](repeating: 0, count: 32)
        nettle_ed25519_sha512_public_key(&pub, seed)
        self.publicKey = pub
    }

    /// `{attestation, attestation_ts, attestation_kid}` for an inbox id at `now`.
    public func attest(inboxId: String, now: Date) -> (signature: String, timestamp: String, kid: String) {
        let timestamp = Self.iso(now)
        var signature = [UInt8](repeating: 0, count: 64)
        let digest = Self.sha256(Array((inboxId + timestamp).utf8))
        nettle_ed25519_sha512_sign(publicKey, seed, digest.count, digest, &signature)
        return (Self.base64url(signature), timestamp, kid)
    }

    /// Whether `signature` (base64url) signs sha256(inboxId + timestamp) under `publicKey`.
    public static func verify(publicKey: [UInt8], inboxId: String, timestamp: String, signature: String) -> Bool {
        guard publicKey.count == 32, let bytes = fromBase64url(signature), bytes.count == 64 else { return false }
        let digest = sha256(Array((inboxId + timestamp).utf8))
        return nettle_ed25519_sha512_verify(publicKey, digest.count, digest, bytes) == 1
    }

    /// The JWKS document: one OKP key.
    public var jwks: [String: Any] {
        ["keys": [["kty": "OKP", "crv": "Ed25519", "x": Self.base64url(publicKey), "kid": kid, "use": "sig", "alg": "EdDSA"]]]
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { SHA256.hash(bytes) }

    public static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func fromBase64url(_ text: String) -> [UInt8]? {
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base).map { [UInt8]($0) }
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon))
    }
}
