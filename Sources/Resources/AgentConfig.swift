/// What an agent's runtime is configured with: the template's values overlaid with the agent's own,
/// or the seed's old-flow defaults when the agent has no template. Pure; the planner, the claim
/// API and the executor all resolve it the same way.
public struct AgentConfig: Sendable, Equatable {
    /// The seed's old claim flow: `{agentName, instructions, joinUrl}` with these defaults.
    public static let defaultAgentName = "Assistant"
    public static let defaultInstructions = "You are a helpful AI assistant."

    public var agentName: String
    public var instructions: String
    /// Nil leaves the runtime on its default model (`OPENCLAW_PRIMARY_MODEL` at creation).
    public var model: String?
    public var joinUrl: String?
    public var tools: [TemplateTool]
    public var openrouter: OpenRouterSettings?

    public init(agentName: String, instructions: String, model: String? = nil, joinUrl: String? = nil,
                tools: [TemplateTool] = [], openrouter: OpenRouterSettings? = nil) {
        self.agentName = agentName
        self.instructions = instructions
        self.model = model
        self.joinUrl = joinUrl
        self.tools = tools
        self.openrouter = openrouter
    }

    public static func resolve(_ agent: AgentSpec, template: AgentTemplateSpec?) -> AgentConfig {
        // A model override counts only where the template allows one; apply refuses it elsewhere.
        let model = template?.model?.allowOverride == true ? agent.model ?? template?.model?.default : template?.model?.default
        return AgentConfig(
            agentName: agent.agentName ?? template?.agentName ?? defaultAgentName,
            instructions: agent.instructions ?? template?.instructions ?? defaultInstructions,
            model: template == nil ? agent.model : model,
            joinUrl: agent.joinUrl,
            tools: template?.tools ?? [],
            openrouter: template?.openrouter)
    }

    /// The tools to provision, in teardown order.
    public var toolNames: [ToolName] { tools.map(\.id).sorted() }
}

extension AgentConfig {
    /// The tools to (re)provision: declared tools not made yet, and the OpenRouter key while its
    /// limit differs from the template's. A tool made but not yet handed to the agent is not here:
    /// the services layer is handing it over.
    public func toolsToProvision(_ tools: [ToolName: ToolView]) -> [ToolName] {
        missingTools(tools).filter { tools[$0]?.state != .ready || $0 == .openrouter }
    }

    /// The tools not yet in the running agent's hands, in teardown order: declared tools not made
    /// or not delivered, and the OpenRouter key while its limit differs from the template's.
    public func missingTools(_ tools: [ToolName: ToolView]) -> [ToolName] {
        // A tool the runtime gave back itself (`unprovision`) stays given back until it asks again.
        var missing = self.tools.map(\.id).filter { !(tools[$0]?.inPlace ?? false) && !(tools[$0]?.releasedByRuntime ?? false) }
        if let openrouter, !OpenRouterSettings.matches(openrouter, tools[.openrouter]?.config ?? [:]) { missing.append(.openrouter) }
        // Every instance's key, lost at the provider (revoked or deleted): made again, limit or not.
        else if let key = tools[.openrouter], key.state != .ready { missing.append(.openrouter) }
        return missing.sorted()
    }

    /// Tools the instance holds that this configuration no longer declares (removed from the
    /// template): to release. The OpenRouter key belongs to every instance and is never extra.
    public func extraTools(_ tools: [ToolName: ToolView]) -> [ToolName] {
        let declared = Set(self.tools.map(\.id))
        return tools.filter { $0.key != .openrouter && $0.value.state != .deleted && !declared.contains($0.key) }.keys.sorted()
    }
}

extension OpenRouterSettings {
    /// The key's settings as the services layer reports them: `limitUsd`, `limitReset`.
    public var wireConfig: [String: String] {
        var config: [String: String] = [:]
        if let limitUsd { config["limitUsd"] = Self.format(limitUsd) }
        if let limitReset { config["limitReset"] = limitReset.rawValue }
        return config
    }

    /// Whether the key's observed settings are what `wanted` asks for (unset fields ask for nothing).
    /// A limit the agent raised itself (a top-up, a coupon: `toppedUp`) is its own from then on:
    /// the template's limit does not take it back.
    public static func matches(_ wanted: OpenRouterSettings, _ observed: [String: String]) -> Bool {
        wanted.wireConfig.allSatisfy { key, value in
            guard key == "limitUsd" else { return observed[key] == value }
            return observed["toppedUp"] == "true" || observed[key].flatMap(Double.init) == wanted.limitUsd
        }
    }

    public static func format(_ usd: Double) -> String {
        usd == usd.rounded() && abs(usd) < 1e15 ? String(Int64(usd)) : String(usd)
    }
}
