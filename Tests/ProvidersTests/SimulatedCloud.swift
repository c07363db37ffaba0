import Foundation
@testable import Providers
import Resources
import Simulator

/// A simulated cloud and clients pointed at it, for one test.
struct SimulatedCloud {
    let sim: Simulator

    static func start(deployDelay: Duration = .milliseconds(50), orderDelay: Duration = .zero) async throws -> SimulatedCloud {
        var options = SimulatorOptions()
        options.deployDelay = deployDelay
        options.orderDelay = orderDelay
        return SimulatedCloud(sim: try await Simulator(options: options))
    }

    func http(_ name: String, policy: RetryPolicy = RetryPolicy(), breaker: CircuitBreaker = CircuitBreaker(),
              sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }) -> ProviderHTTPClient {
        ProviderHTTPClient(provider: name, policy: policy, breaker: breaker, requestTimeout: .seconds(5), sleep: sleep)
    }

    func railway(_ http: ProviderHTTPClient? = nil) -> RailwayClient {
        RailwayClient(endpoint: URL(string: sim.railwayURL)!, token: "t", workspaceID: "w", http: http ?? self.http("railway"))
    }
    func openRouter(_ http: ProviderHTTPClient? = nil) -> OpenRouterProvider {
        OpenRouterProvider(base: URL(string: sim.openRouterURL)!, provisioningKey: "k", http: http ?? self.http("openrouter"))
    }
    func agentMail(_ http: ProviderHTTPClient? = nil) -> AgentMailProvider {
        AgentMailProvider(base: URL(string: sim.agentMailURL)!, apiKey: "k", http: http ?? self.http("agentmail"))
    }
    func telnyx(_ http: ProviderHTTPClient? = nil) -> TelnyxProvider {
        TelnyxProvider(base: URL(string: sim.telnyxURL)!, apiKey: "k", http: http ?? self.http("telnyx"))
    }
    func ghcr() -> GHCRClient { GHCRClient(base: URL(string: sim.ghcrURL)!, token: nil, http: http("ghcr")) }
    func bankr() -> BankrClient { BankrClient(base: URL(string: sim.bankrURL)!, http: http("bankr")) }

    func live(_ provider: String) async -> [LedgerEntry] { await sim.ledger().filter { $0.provider == provider } }
}
