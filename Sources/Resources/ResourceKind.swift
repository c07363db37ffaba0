/// The kinds users declare. Instances are controller-owned and read-only, so they are not here.
public enum ResourceKind: String, Sendable, CaseIterable, Codable {
    case pool = "Pool"
    case agentTemplate = "AgentTemplate"
    case agent = "Agent"
    case coupon = "Coupon"

    public static let apiVersion = "agents.convos.org/v1"

    /// The path segment of the API: `/v1/pools`.
    public var plural: String {
        switch self {
        case .pool: return "pools"
        case .agentTemplate: return "agenttemplates"
        case .agent: return "agents"
        case .coupon: return "coupons"
        }
    }

    /// The lowercase name the CLI prints: `agenttemplate/concierge created`.
    public var singular: String { rawValue.lowercased() }

    /// Apply order inside one transaction: what others refer to goes first.
    public var applyOrder: Int {
        switch self {
        case .pool, .coupon: return 0
        case .agentTemplate: return 1
        case .agent: return 2
        }
    }

    /// Accepts `pool`, `pools`, `Pool`, `agenttemplate(s)`, `template(s)`, `agent(s)`, `coupon(s)`.
    public init?(userInput: String) {
        switch userInput.lowercased() {
        case "pool", "pools": self = .pool
        case "agenttemplate", "agenttemplates", "template", "templates": self = .agentTemplate
        case "agent", "agents": self = .agent
        case "coupon", "coupons": self = .coupon
        default: return nil
        }
    }
}
