import Foundation
import Providers
import Resources
import Simulator

/// Every provider client, built once from the environment, or pointed at the simulated cloud.
public struct ProviderSet: Sendable {
    public let railway: RailwayClient
    public let ghcr: GHCRClient
    public let openRouter: OpenRouterProvider
    public let telnyx: TelnyxProvider
    public let agentMail: AgentMailProvider
    public let bankr: BankrClient
    /// The agent runtimes' pool protocol: every instance URL.
    public let runtime: RuntimeClient
    public let bankrKeys: [String]
    public let instanceURLScheme: String

    /// The tools made by a provider of their own; Bankr keys come from the pool in
    /// `services.bankr_keys`, phone numbers are kept in `services.phone_numbers`.
    var tools: [ToolName: any ToolProvider] {
        [.openrouter: openRouter, .email: agentMail]
    }

    public static func fromEnvironment(_ env: [String: String]) -> ProviderSet {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        // `RAILWAY_API_TOKENS` (a pool, creation paced per token) and `RAILWAY_API_TOKEN`, together.
        let tokens = ((value("RAILWAY_API_TOKENS") ?? "").split(separator: ",") + (value("RAILWAY_API_TOKEN").map { [Substring($0)] } ?? []))
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func url(_ k: String, _ fallback: String) -> URL { URL(string: value(k) ?? fallback) ?? URL(string: fallback)! }
        return ProviderSet(
            railway: RailwayClient(endpoint: url("RAILWAY_API_URL", "https://backboard.railway.com/graphql/v2"),
                                   tokens: RailwayTokens(Array(Set(tokens)).sorted()), workspaceID: value("RAILWAY_WORKSPACE_ID")),
            ghcr: GHCRClient(base: url("GHCR_URL", "https://ghcr.io"), token: value("GHCR_TOKEN")),
            openRouter: OpenRouterProvider(base: url("OPENROUTER_API_URL", "https://openrouter.ai/api/v1"),
                                           provisioningKey: value("OPENROUTER_PROVISIONING_KEY")),
            telnyx: TelnyxProvider(base: url("TELNYX_API_URL", "https://api.telnyx.com/v2"), apiKey: value("TELNYX_API_KEY"),
                                   messagingProfileID: value("TELNYX_MESSAGING_PROFILE_ID")),
            agentMail: AgentMailProvider(base: url("AGENTMAIL_API_URL", "https://api.agentmail.to"), apiKey: value("AGENTMAIL_API_KEY"),
                                         domain: value("AGENTMAIL_DOMAIN")),
            bankr: BankrClient(base: url("BANKR_API_URL", "https://api.bankr.bot")),
            runtime: RuntimeClient(),
            bankrKeys: (value("BANKR_KEYS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            instanceURLScheme: value("INSTANCE_URL_SCHEME") ?? "https")
    }

    /// Every provider pointed at the simulated cloud, with credentials it accepts and a Bankr pool.
    /// `railwayTokens` tokens make the Railway pool, each paced as the simulator's profile says.
    public static func simulated(_ sim: Simulator, bankrKeys: Int = 200, retry: RetryPolicy = RetryPolicy(), railwayTokens: Int = 1,
                                 breaker: @Sendable () -> CircuitBreaker = { CircuitBreaker() }) -> ProviderSet {
        func client(_ name: String) -> ProviderHTTPClient { ProviderHTTPClient(provider: name, policy: retry, breaker: breaker()) }
        return ProviderSet(
            railway: RailwayClient(endpoint: URL(string: sim.railwayURL)!,
                                   tokens: RailwayTokens((1...max(1, railwayTokens)).map { "sim-railway-token-\($0)" },
                                                         projectInterval: sim.projectCreateInterval == .zero ? .zero : sim.projectCreateInterval + .seconds(1)),
                                   workspaceID: "sim-workspace", http: client("railway")),
            ghcr: GHCRClient(base: URL(string: sim.ghcrURL)!, token: nil, http: client("ghcr")),
            openRouter: OpenRouterProvider(base: URL(string: sim.openRouterURL)!, provisioningKey: "sim-openrouter-key", http: client("openrouter")),
            telnyx: TelnyxProvider(base: URL(string: sim.telnyxURL)!, apiKey: "sim-telnyx-key", http: client("telnyx")),
            agentMail: AgentMailProvider(base: URL(string: sim.agentMailURL)!, apiKey: "sim-agentmail-key", http: client("agentmail")),
            bankr: BankrClient(base: URL(string: sim.bankrURL)!, http: client("bankr")),
            runtime: RuntimeClient(http: ProviderHTTPClient(provider: "runtime", policy: retry, maxInFlight: 256, requestTimeout: .seconds(150)),
                                   probe: ProviderHTTPClient(provider: "runtime", policy: retry, maxInFlight: 40, requestTimeout: .seconds(5))),
            bankrKeys: (1...max(1, bankrKeys)).map { "bk_sim_\($0)" },
            instanceURLScheme: "http")
    }
}
