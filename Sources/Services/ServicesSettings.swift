import Foundation
import Providers
import Resources

/// How the services layer makes instances: the seed's and production's settings (CONTRACT.md
/// section 2), read by `ServeConfiguration` with its checks, defaults for tests.
/// What teardown does with a phone number (`TELNYX_RELEASE`).
public enum TelnyxRelease: String, Sendable {
    /// Kept for the next agent: numbers cost money to buy, and time to order.
    case pool
    /// Released at Telnyx.
    case delete
}

public struct ServicesSettings: Sendable {
    /// Each agent's project gets an environment of this name; it also picks the default image tag.
    public var environmentName = "production"
    /// The bootstrap image, `AGENT_IMAGE:AGENT_IMAGE_TAG`; a create without an image resolves it.
    public var agentImage = "ghcr.io/xmtplabs/convos-runtime"
    public var agentImageTag = "production"
    /// Later images need `node convos-platform/pool-server/dist/index.js`: their default command
    /// runs the agent without the pool endpoints. None keeps the image's own.
    public var startCommand: String?
    public var cpu: Double = 4
    public var memoryGB: Double = 4
    public var openRouterKeyLimit: Double = 20
    public var openRouterKeyLimitReset = "monthly"
    public var xmtpEnv = "production"
    public var primaryModel: String?
    /// Where a runtime reaches the services API to provision for itself (`SERVICES_URL` of each runtime).
    public var runtimeServicesURL: String?
    /// `GHCR_TOKEN` as the image's registry credentials on each service.
    public var registryCredentials: RegistryCredentials?
    /// A runtime that said ready is pinged again after this long; one that did not, every batch.
    public var healthTTL: TimeInterval = 15
    /// `TELNYX_RELEASE`: a torn-down agent's number goes back to the reuse pool, or is released.
    public var telnyxRelease = TelnyxRelease.pool
    /// How Railway is observed: resync period, webhooks, the quota share of polling.
    public var observe = ObserveSettings()

    public init() {}

    /// The bootstrap pool's image reference.
    public var image: String { "\(agentImage):\(agentImageTag)" }

    /// The image tag `RAILWAY_ENVIRONMENT_NAME` implies: `staging` there, `production` everywhere else.
    public static func defaultTag(environment: String) -> String { environment == "staging" ? "staging" : "production" }

    /// The variables of CONTRACT.md section 6 every runtime boots with; the secrets come from its row.
    package func variables(instanceID: String, secrets: RuntimeSecrets, openRouterKey: String?) -> [String: String] {
        var variables = [
            "INSTANCE_ID": instanceID, "POOL_API_KEY": secrets.runtimeKey, "INSTANCE_SERVICES_TOKEN": secrets.servicesToken,
            "OPENCLAW_GATEWAY_TOKEN": secrets.gatewayToken, "SETUP_PASSWORD": secrets.setupPassword,
            "PRIVATE_WALLET_KEY": secrets.walletKey, "XMTP_ENV": xmtpEnv, "PORT": "8080",
        ]
        if let openRouterKey { variables["OPENROUTER_API_KEY"] = openRouterKey }
        if let primaryModel { variables["OPENCLAW_PRIMARY_MODEL"] = primaryModel }
        if let runtimeServicesURL { variables["SERVICES_URL"] = runtimeServicesURL }
        return variables
    }
}

/// One runtime's own secrets, made with its intent row and kept in the services schema only.
package struct RuntimeSecrets: Sendable {
    package var runtimeKey: String
    package var servicesToken: String
    package var gatewayToken: String
    package var setupPassword: String
    /// A wallet is 32 random bytes, `0x` and hex, made here (the seed's wallet plugin).
    package var walletKey: String

    package static func make() -> RuntimeSecrets {
        RuntimeSecrets(runtimeKey: "rk_" + randomHex(32), servicesToken: "st_" + randomHex(32), gatewayToken: randomHex(32),
                       setupPassword: randomHex(24), walletKey: "0x" + randomHex(32))
    }

    /// `SystemRandomNumberGenerator` reads the kernel's CSPRNG (getrandom) on Linux.
    package static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
