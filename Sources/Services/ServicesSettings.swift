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
    /// Today's images serve `/pool/*` only under pool-server (`RUNTIME_START_COMMAND`); their own
    /// command runs the agent alone. Nil keeps the image's own.
    public var startCommand: String? = ServicesSettings.poolServerCommand
    public static let poolServerCommand = "node convos-platform/pool-server/dist/index.js"
    public var cpu: Double = 4
    public var memoryGB: Double = 4
    public var openRouterKeyLimit: Double = 20
    public var openRouterKeyLimitReset = "monthly"
    public var xmtpEnv = "production"
    public var primaryModel: String?
    /// Where a runtime reaches the services API to provision for itself (`SERVICES_URL` of each runtime).
    public var runtimeServicesURL: String?
    /// Where runtimes call this controller back (`POOL_URL`): self-service and the services proxy.
    /// Nil until known (`serve --simulate` learns its own port at start): runtimes then go without.
    public var poolURL: String?
    /// `RUNTIME_SHARED_ENV`: the controller's own variables given unchanged to every runtime.
    public var sharedEnv: [String: String] = [:]
    /// The controller's tokens and account-wide provider keys: a runtime variable holding one is
    /// removed, whatever its name.
    public var forbiddenValues: [String] = []
    /// `GHCR_TOKEN` as the image's registry credentials on each service.
    public var registryCredentials: RegistryCredentials?
    /// A runtime that said ready is pinged again after this long; one that did not, every batch.
    public var healthTTL: TimeInterval = 15
    /// The steady fleet (not asked about by the reconciler) is pinged by `HealthSweep` at most this
    /// many times a second, each runtime about once a `healthTTL` while the fleet is small enough.
    public var healthSweepRate: Double = 100
    /// `TELNYX_RELEASE`: a torn-down agent's number goes back to the reuse pool, or is released.
    public var telnyxRelease = TelnyxRelease.pool
    /// `TELNYX_SPARE_NUMBERS`: numbers kept ordered ahead in the reuse pool, so a claim's SMS is a
    /// number taken from it (under a second) rather than a Telnyx order (seconds more). They cost
    /// money while they wait: zero (the default) orders none ahead.
    public var spareNumbers = 0
    /// How Railway is observed: resync period, webhooks, the quota share of polling.
    public var observe = ObserveSettings()

    public init() {}

    /// The bootstrap pool's image reference.
    public var image: String { "\(agentImage):\(agentImageTag)" }

    /// The image tag `RAILWAY_ENVIRONMENT_NAME` implies: `staging` there, `production` everywhere else.
    public static func defaultTag(environment: String) -> String { environment == "staging" ? "staging" : "production" }

    /// The variables of CONTRACT.md section 6 every runtime boots with; the secrets come from its
    /// row. The instance's one secret is its `GATEWAY_TOKEN` (today's images) and, the same value,
    /// its `POOL_API_KEY` (seed-era images): either generation authenticates with it. The pool's
    /// `env` and `RUNTIME_SHARED_ENV` go first: no entry of theirs replaces one of these.
    package func variables(instanceID: String, secrets: RuntimeSecrets, openRouterKey: String?, image: String,
                           poolURL: String?, poolEnv: [String: String] = [:]) -> [String: String] {
        var variables = poolEnv.filter { !RuntimeVariables.reserved.contains($0.key) }
        variables.merge(sharedEnv.filter { !RuntimeVariables.reserved.contains($0.key) }) { _, shared in shared }
        variables.merge([
            "INSTANCE_ID": instanceID, "GATEWAY_TOKEN": secrets.runtimeKey, "POOL_API_KEY": secrets.runtimeKey,
            "INSTANCE_SERVICES_TOKEN": secrets.servicesToken, "SETUP_PASSWORD": secrets.setupPassword,
            "PRIVATE_WALLET_KEY": secrets.walletKey, "XMTP_ENV": xmtpEnv, "PORT": "8080",
            "RUNTIME_TYPE": RuntimeVariables.runtimeType(image: image),
        ]) { _, ours in ours }
        if let openRouterKey { variables["OPENROUTER_API_KEY"] = openRouterKey }
        if let primaryModel { variables["OPENCLAW_PRIMARY_MODEL"] = primaryModel }
        if let runtimeServicesURL { variables["SERVICES_URL"] = runtimeServicesURL }
        if let poolURL { variables["POOL_URL"] = poolURL }
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
