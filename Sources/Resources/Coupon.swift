import Digest
import Foundation

/// A code an agent's runtime redeems (`redeem-coupon`) to raise its own OpenRouter limit: by
/// `incrementUsd`, never past `maxUsd`, once per agent, `maxRedemptions` times in all, until
/// `expiresAt`.
///
/// The code is write-only: decoding takes it and keeps only its SHA-256 (of the code trimmed and
/// upper-cased, the way today's pool compares codes), so the stored spec, every GET and every event
/// hold the hash at most, and reads strip even that (`StoredObject`). A write must name the code
/// again; `codeSha256` is accepted too, so an object read back inside the controller re-encodes.
public struct CouponSpec: ResourceSpec {
    public static let kind = ResourceKind.coupon

    /// SHA-256 (hex) of the normalized code.
    public var codeSha256: String
    public var incrementUsd: Double
    public var maxUsd: Double
    public var maxRedemptions: Int?
    /// ISO 8601; none: no expiry.
    public var expiresAt: String?
    /// A code given in the request, for its checks; never encoded.
    private var codeProblems: [FieldError] = []

    public init(code: String, incrementUsd: Double, maxUsd: Double, maxRedemptions: Int? = nil, expiresAt: String? = nil) {
        self.codeSha256 = Self.hash(code)
        self.incrementUsd = incrementUsd
        self.maxUsd = maxUsd
        self.maxRedemptions = maxRedemptions
        self.expiresAt = expiresAt
    }

    /// The hash a code is stored and looked up by: trimmed, upper-cased.
    public static func hash(_ code: String) -> String {
        SHA256.hex(code.trimmingCharacters(in: .whitespacesAndNewlines).uppercased())
    }

    enum CodingKeys: String, CodingKey { case code, codeSha256, incrementUsd, maxUsd, maxRedemptions, expiresAt }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let code = try c.decodeIfPresent(String.self, forKey: .code)
        let hashed = try c.decodeIfPresent(String.self, forKey: .codeSha256)
        incrementUsd = try c.decode(Double.self, forKey: .incrementUsd)
        maxUsd = try c.decode(Double.self, forKey: .maxUsd)
        maxRedemptions = try c.decodeIfPresent(Int.self, forKey: .maxRedemptions)
        expiresAt = try c.decodeIfPresent(String.self, forKey: .expiresAt)
        if let code {
            codeSha256 = Self.hash(code)
            let trimmed = code.trimmingCharacters(in: .whitespacesAndNewlines)
            if !(4...128).contains(trimmed.count) || trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                codeProblems.append(FieldError("spec.code", "must be 4 to 128 characters, without control characters"))
            }
        } else if let hashed {
            codeSha256 = hashed
            if hashed.count != 64 || !hashed.allSatisfy(\.isHexDigit) { codeProblems.append(FieldError("spec.codeSha256", "must be 64 hex digits")) }
        } else {
            codeSha256 = ""
            codeProblems.append(FieldError("spec.code", "required (write-only: it is stored as a hash and never shown)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(codeSha256, forKey: .codeSha256)
        try c.encode(incrementUsd, forKey: .incrementUsd)
        try c.encode(maxUsd, forKey: .maxUsd)
        try c.encodeIfPresent(maxRedemptions, forKey: .maxRedemptions)
        try c.encodeIfPresent(expiresAt, forKey: .expiresAt)
    }

    public static func == (a: CouponSpec, b: CouponSpec) -> Bool {
        (a.codeSha256, a.incrementUsd, a.maxUsd, a.maxRedemptions, a.expiresAt) == (b.codeSha256, b.incrementUsd, b.maxUsd, b.maxRedemptions, b.expiresAt)
    }

    public func validate() -> [FieldError] {
        var errors = codeProblems
        if !(incrementUsd > 0 && incrementUsd <= 10_000) { errors.append(FieldError("spec.incrementUsd", "must be > 0 and at most 10000")) }
        if !(maxUsd > 0 && maxUsd <= 10_000) { errors.append(FieldError("spec.maxUsd", "must be > 0 and at most 10000")) }
        if let maxRedemptions { errors += Check.range(maxRedemptions, 1...1_000_000, at: "spec.maxRedemptions") }
        if let expiresAt, ISO8601.parse(expiresAt) == nil {
            errors.append(FieldError("spec.expiresAt", "must be an ISO 8601 time like 2026-12-31T00:00:00Z"))
        }
        return errors
    }

    /// Past its expiry at `now`.
    public func expired(at now: Date) -> Bool {
        expiresAt.flatMap(ISO8601.parse).map { $0 <= now } ?? false
    }
}
