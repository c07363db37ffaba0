import CNettle

/// HMAC-SHA256 (Svix's webhook signatures) and Ed25519 (Telnyx's webhooks, agents' attestations),
/// from Nettle: never written by hand.
public enum HMACSHA256 {
    public static func mac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var context = hmac_sha256_ctx()
        nettle_hmac_sha256_set_key(&context, key.count, key)
        nettle_hmac_sha256_update(&context, message.count, message)
        var digest = [UInt8](repeating: 0, count: 32)
        nettle_hmac_sha256_digest(&context, digest.count, &digest)
        return digest
    }
}

public enum Ed25519 {
    /// The public key of a 32-byte seed.
    public static func publicKey(seed: [UInt8]) -> [UInt8] {
        var pub = [UInt8](repeating: 0, count: 32)
        nettle_ed25519_sha512_public_key(&pub, seed)
        return pub
    }

    public static func sign(seed: [UInt8], _ message: [UInt8]) -> [UInt8] {
        let pub = publicKey(seed: seed)
        var signature = [UInt8](repeating: 0, count: 64)
        nettle_ed25519_sha512_sign(pub, seed, message.count, message, &signature)
        return signature
    }

    public static func verify(publicKey: [UInt8], _ message: [UInt8], signature: [UInt8]) -> Bool {
        guard publicKey.count == 32, signature.count == 64 else { return false }
        return nettle_ed25519_sha512_verify(publicKey, message.count, message, signature) == 1
    }
}
