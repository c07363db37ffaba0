/// The variables every runtime is given (CONTRACT.md section 6): their names, and what the image
/// implies. Read by the services layer when it builds a runtime's variables, and by `PoolSpec`
/// to refuse a pool `env` that would shadow one of them.
public enum RuntimeVariables {
    /// Names the controller sets itself; a Pool's `env` may not name them.
    public static let reserved: Set<String> = [
        "INSTANCE_ID", "GATEWAY_TOKEN", "POOL_URL", "RUNTIME_TYPE", "OPENROUTER_API_KEY", "XMTP_ENV", "PRIVATE_WALLET_KEY",
        "OPENCLAW_PRIMARY_MODEL", "POOL_API_KEY", "INSTANCE_SERVICES_TOKEN", "SERVICES_URL", "SETUP_PASSWORD", "PORT",
        "OPENCLAW_GATEWAY_TOKEN", "AGENTMAIL_API_KEY", "TELNYX_API_KEY", "TELNYX_MESSAGING_PROFILE_ID", "BANKR_API_KEY",
    ]

    /// `hermes` for a `-hermes` image (production's rule: the image names `runtime-hermes`), else `openclaw`.
    public static func runtimeType(image: String) -> String {
        image.contains("runtime-hermes") ? "hermes" : "openclaw"
    }

    /// A Pool `env` entry: a shell variable name the controller does not set, a value of one line.
    public static func checkPoolVariable(_ name: String, _ value: String, at path: String) -> [FieldError] {
        let first = name.unicodeScalars.first
        let valid = !name.isEmpty && name.count <= 128 && (first.map { $0 == "_" || ("A"..."Z").contains($0) } ?? false)
            && name.unicodeScalars.allSatisfy { $0 == "_" || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        if !valid { return [FieldError(path, "must be a variable name: A-Z, 0-9 and '_', not starting with a digit")] }
        if reserved.contains(name) || name.hasPrefix("RAILWAY_") {
            return [FieldError(path, "\(name) is set by the controller for every runtime; a pool cannot set it")]
        }
        if value.count > 32 * 1024 { return [FieldError(path, "must be at most 32768 characters")] }
        return []
    }
}
