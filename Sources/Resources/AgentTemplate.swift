/// What an agent becomes at claim time: its model, instructions and per-agent tools.
public struct AgentTemplateSpec: ResourceSpec {
    public static let kind = ResourceKind.agentTemplate

    public var displayName: String?
    /// `vendor/model`, as OpenRouter names models.
    public var model: String
    public var instructions: String
    public var tools: Tools

    public init(displayName: String? = nil, model: String, instructions: String = "", tools: Tools = Tools()) {
        self.displayName = displayName
        self.model = model
        self.instructions = instructions
        self.tools = tools
    }

    enum CodingKeys: String, CodingKey { case displayName, model, instructions, tools }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName)
        model = try c.decode(String.self, forKey: .model)
        instructions = try c.decodeIfPresent(String.self, forKey: .instructions) ?? ""
        tools = try c.decodeIfPresent(Tools.self, forKey: .tools) ?? Tools()
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if let displayName { errors += Check.text(displayName, at: "spec.displayName", max: 128) }
        errors += Check.text(model, at: "spec.model", max: 128)
        let parts = model.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count != 2 || parts.contains(where: \.isEmpty) || model.contains(" ") {
            errors.append(FieldError("spec.model", "must be vendor/model, like anthropic/claude-sonnet-4"))
        }
        errors += Check.text(instructions, at: "spec.instructions", max: 64 * 1024, required: false, multiline: true)
        errors += tools.validate()
        return errors
    }

    /// The tools each agent of this template gets, in provisioning order.
    public var toolNames: [ToolName] { tools.enabled }
}

/// The per-agent tools a template asks for. A present key means "provision it", even when empty.
public struct Tools: Codable, Sendable, Equatable {
    public var openrouter: OpenRouterTool?
    public var agentmail: AgentMailTool?
    public var telnyx: TelnyxTool?
    public var bankr: BankrTool?

    public init(openrouter: OpenRouterTool? = nil, agentmail: AgentMailTool? = nil, telnyx: TelnyxTool? = nil, bankr: BankrTool? = nil) {
        self.openrouter = openrouter
        self.agentmail = agentmail
        self.telnyx = telnyx
        self.bankr = bankr
    }

    enum CodingKeys: String, CodingKey { case openrouter, agentmail, telnyx, bankr }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // `agentmail:` with no value reads as null in YAML; it still means "enabled, defaults".
        func tool<T: Decodable>(_ key: CodingKeys, _ empty: T) throws -> T? {
            guard c.contains(key) else { return nil }
            return try c.decodeNil(forKey: key) ? empty : c.decode(T.self, forKey: key)
        }
        openrouter = try tool(.openrouter, OpenRouterTool())
        agentmail = try tool(.agentmail, AgentMailTool())
        telnyx = try tool(.telnyx, TelnyxTool())
        bankr = try tool(.bankr, BankrTool())
    }

    public var enabled: [ToolName] {
        var names: [ToolName] = []
        if openrouter != nil { names.append(.openrouter) }
        if agentmail != nil { names.append(.agentmail) }
        if telnyx != nil { names.append(.telnyx) }
        if bankr != nil { names.append(.bankr) }
        return names
    }

    func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if let limit = openrouter?.creditLimitUsd, !(limit > 0 && limit <= 10_000) {
            errors.append(FieldError("spec.tools.openrouter.creditLimitUsd", "must be > 0 and at most 10000"))
        }
        if let country = telnyx?.country,
           !(country.count == 2 && country.allSatisfy { $0.isASCII && $0.isUppercase }) {
            errors.append(FieldError("spec.tools.telnyx.country", "must be an ISO 3166 alpha-2 code, like US"))
        }
        return errors
    }
}

/// The external tools, in the seed's teardown order (OpenRouter, AgentMail, Telnyx, Bankr).
public enum ToolName: String, Sendable, Codable, CaseIterable, Comparable {
    case openrouter, agentmail, telnyx, bankr
    public static func < (a: ToolName, b: ToolName) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public struct OpenRouterTool: Codable, Sendable, Equatable {
    /// The key's spending limit in US dollars; none means unlimited.
    public var creditLimitUsd: Double?
    public init(creditLimitUsd: Double? = nil) { self.creditLimitUsd = creditLimitUsd }
}

public struct AgentMailTool: Codable, Sendable, Equatable {
    public init() {}
    public init(from decoder: any Decoder) throws { _ = try decoder.container(keyedBy: NoKeys.self) }
    public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: NoKeys.self) }
}

public struct TelnyxTool: Codable, Sendable, Equatable {
    /// Where the phone number is bought.
    public var country: String
    public init(country: String = "US") { self.country = country }
    enum CodingKeys: String, CodingKey { case country }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        country = try c.decodeIfPresent(String.self, forKey: .country) ?? "US"
    }
}

public struct BankrTool: Codable, Sendable, Equatable {
    public init() {}
    public init(from decoder: any Decoder) throws { _ = try decoder.container(keyedBy: NoKeys.self) }
    public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: NoKeys.self) }
}

/// What the reconciler last did with a template.
public struct AgentTemplateStatus: Codable, Sendable, Equatable {
    public var observedGeneration: Int = 0
    /// Agents using the template, and how many run its current generation.
    public var agents: Int = 0
    public var agentsSynced: Int = 0
    public var conditions: [Condition] = []
    public init() {}
}
