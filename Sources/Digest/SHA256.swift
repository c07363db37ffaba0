import CNettle

/// SHA-256 from Nettle (the library GnuTLS, under libmicrohttpd, uses). For coupon codes stored as
/// their hash, and the digest agents' attestations sign.
public enum SHA256 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var context = sha256_ctx()
        nettle_sha256_init(&context)
        nettle_sha256_update(&context, bytes.count, bytes)
        var digest = [UInt8](repeating: 0, count: 32)
        nettle_sha256_digest(&context, digest.count, &digest)
        return digest
    }

    /// Lowercase hex of the hash of `text`'s UTF-8.
    public static func hex(_ text: String) -> String {
        hash(Array(text.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }
}
