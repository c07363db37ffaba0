import Foundation
import Providers
import Resources

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

    public init(railway: RailwayClient, ghcr: GHCRClient, openRouter: OpenRouterProvider, telnyx: TelnyxProvider, agentMail: AgentMailProvider, bankr: BankrClient, runtime: RuntimeClient, bankrKeys: [String], instanceURLScheme: String) {
        self.railway = railway
        self.ghcr = ghcr
        self.openRouter = openRouter
        self.telnyx = telnyx
        self.agentMail = agentMail
        self.bankr = bankr
        self.runtime = runtime
        self.bankrKeys = bankrKeys
        self.instanceURLScheme = instanceURLScheme
    }
}
