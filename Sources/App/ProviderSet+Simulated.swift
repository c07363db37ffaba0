import Foundation
import Providers
import Services
import Simulator

extension ProviderSet {
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
