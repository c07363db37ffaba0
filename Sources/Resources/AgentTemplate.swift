import YAML

/// What an agent becomes at claim time: the seed's `agent_templates` row. Its name, instructions and
/// model configure the runtime; its tools are provisioned for each agent that uses it.
public struct AgentTemplateSpec: ResourceSpec {
    public static let kind = ResourceKind.agentTemplate

    /// The agent's name in its conversation.
    public var agentName: String
    public var instructions: String
    /// The model the agent runs, and whether a claim may choose another; none means the runtime's default.
    public var model: ModelChoice?
    public var visibility: Visibility
    /// Who made the template (the seed's `creator_id`): only they may claim it while it is private.
    public var creator: String?
    /// Per-agent tools, in declaration order. The OpenRouter key and the wallet come with every instance.
    public var tools: [TemplateTool]
    /// The spending limit applied to the instance's OpenRouter key at claim.
    public var openrouter: OpenRouterSettings?
    /// The Pool its agents are claimed from (a hermes pool beside an openclaw one); nil: the
    /// Pool named `default`, else the first by name.
    public var pool: String?
    /// Tools whose id or provisioning mode is not one we know, reported by `validate()` with the
    /// rest instead of stopping the decode at the first.
    var toolErrors: [FieldError] = []
    /// Where each decoded tool stood among those written, so errors name the position the user wrote.
    var toolPositions: [Int] = []

    public init(agentName: String, instructions: String, model: ModelChoice? = nil, visibility: Visibility = .private,
                creator: String? = nil, tools: [TemplateTool] = [], openrouter: OpenRouterSettings? = nil, pool: String? = nil) {
        self.pool = pool
        self.agentName = agentName
        self.instructions = instructions
        self.model = model
        self.visibility = visibility
        self.creator = creator
        self.tools = tools
        self.openrouter = openrouter
    }

    enum CodingKeys: String, CodingKey { case agentName, instructions, model, visibility, creator, tools, openrouter, pool }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agentName = try c.decode(String.self, forKey: .agentName)
        instructions = try c.decode(String.self, forKey: .instructions)
        model = try c.decodeIfPresent(ModelChoice.self, forKey: .model)
        visibility = try c.decodeIfPresent(Visibility.self, forKey: .visibility) ?? .private
        creator = try c.decodeIfPresent(String.self, forKey: .creator)
        tools = []
        for (index, raw) in (try c.decodeIfPresent([TemplateTool.Raw].self, forKey: .tools) ?? []).enumerated() {
            switch raw.typed(at: "spec.tools[\(index)]") {
            case .success(let tool):
                tools.append(tool)
                toolPositions.append(index)
            case .failure(let errors): toolErrors += errors.errors
            }
        }
        openrouter = try c.decodeIfPresent(OpenRouterSettings.self, forKey: .openrouter)
        pool = try c.decodeIfPresent(String.self, forKey: .pool)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(agentName, forKey: .agentName)
        try c.encode(instructions, forKey: .instructions)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encode(visibility, forKey: .visibility)
        try c.encodeIfPresent(creator, forKey: .creator)
        try c.encode(tools, forKey: .tools)
        try c.encodeIfPresent(openrouter, forKey: .openrouter)
        try c.encodeIfPresent(pool, forKey: .pool)
    }

    public func validate() -> [FieldError] {
        var errors = toolErrors
        errors += Check.text(agentName, at: "spec.agentName", max: 128)
        // The runtime refuses a provision without instructions (400), so they are required here.
        errors += Check.text(instructions, at: "spec.instructions", max: 64 * 1024, multiline: true)
        if let model { errors += model.validate(at: "spec.model") }
        if let creator { errors += Check.text(creator, at: "spec.creator", max: 128) }
        var seen: [ToolName: Int] = [:]
        for (offset, tool) in tools.enumerated() {
            let index = toolPositions.count == tools.count ? toolPositions[offset] : offset
            let path = "spec.tools[\(index)]"
            if let first = seen[tool.id] {
                errors.append(FieldError("\(path).id", "\(tool.id.rawValue) appears twice (also spec.tools[\(first)])"))
            }
            seen[tool.id] = seen[tool.id] ?? index
            errors += tool.validate(at: path)
        }
        if let openrouter { errors += openrouter.validate(at: "spec.openrouter") }
        if let pool { errors += Check.dnsLabel(pool, at: "spec.pool") }
        return errors
    }

    /// The tools each agent of this template gets, in teardown order.
    public var toolNames: [ToolName] { tools.map(\.id).sorted() }
}

/// The seed's `model` column: `{"default": "...", "allowOverride": bool}`.
public struct ModelChoice: Codable, Sendable, Equatable {
    public var `default`: String
    public var allowOverride: Bool

    public init(default model: String, allowOverride: Bool = false) {
        self.default = model
        self.allowOverride = allowOverride
    }

    enum CodingKeys: String, CodingKey { case `default`, allowOverride }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.default = try c.decode(String.self, forKey: .default)
        allowOverride = try c.decodeIfPresent(Bool.self, forKey: .allowOverride) ?? false
    }

    func validate(at path: String) -> [FieldError] { ModelChoice.checkModel(self.default, at: "\(path).default") }

    /// `vendor/model`, as OpenRouter names models.
    public static func checkModel(_ model: String, at path: String) -> [FieldError] {
        var errors = Check.text(model, at: path, max: 128)
        let parts = model.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count != 2 || parts.contains(where: \.isEmpty) || model.contains(" ") {
            errors.append(FieldError(path, "must be vendor/model, like anthropic/claude-sonnet-4"))
        }
        return errors
    }
}

/// Whether the template store shows a template to everyone.
public enum Visibility: String, WireEnum {
    case `private`, `public`
}

/// One tool a template declares: `{id: sms, provisioning: pool, options: {country: US}}`.
public struct TemplateTool: Codable, Sendable, Equatable {
    public var id: ToolName
    public var provisioning: Provisioning
    /// Tool settings (`country` for sms, `displayName` for email); the tool's own keys only.
    public var options: [String: String]?

    public init(_ id: ToolName, provisioning: Provisioning = .pool, options: [String: String]? = nil) {
        self.id = id
        self.provisioning = provisioning
        self.options = options
    }

    /// A tool as written, before its id and mode are checked, so that every bad one is reported.
    struct Raw: Decodable {
        var id: String
        var provisioning: String?
        var options: [String: String]?

        func typed(at path: String) -> Result<TemplateTool, ManifestErrors> {
            var errors: [FieldError] = []
            let tool = ToolName(rawValue: id)
            if tool == nil {
                errors.append(FieldError("\(path).id", "must be one of \(ToolName.declarable.map(\.rawValue).joined(separator: ", ")), got \(YAMLNode.quoted(id))"))
            }
            let mode = provisioning.map(Provisioning.init(rawValue:)) ?? .pool
            if mode == nil {
                errors.append(FieldError("\(path).provisioning", "must be pool or user, got \(YAMLNode.quoted(provisioning ?? ""))"))
            }
            guard let tool, let mode else { return .failure(ManifestErrors(errors)) }
            return .success(TemplateTool(tool, provisioning: mode, options: options))
        }
    }

    func validate(at path: String) -> [FieldError] {
        guard ToolName.declarable.contains(id) else {
            return [FieldError("\(path).id", "openrouter comes with every instance; set spec.openrouter for its limit. Tools are email, sms or crypto")]
        }
        var errors: [FieldError] = []
        let checks = id.optionChecks
        for (key, value) in (options ?? [:]).sorted(by: { $0.key < $1.key }) {
            let keyPath = "\(path).options.\(key)"
            guard let check = checks[key] else {
                let known = checks.keys.sorted().joined(separator: ", ")
                errors.append(FieldError(keyPath, known.isEmpty ? "\(id.rawValue) takes no options" : "unknown option; \(id.rawValue) takes \(known)"))
                continue
            }
            errors += check(value, keyPath)
        }
        return errors
    }

    /// An option's value, or nil.
    public func option(_ key: String) -> String? { options?[key] }
}

/// The limit on the instance's OpenRouter key while an agent of the template holds it.
public struct OpenRouterSettings: Codable, Sendable, Equatable {
    /// US dollars; none means the controller's default (`OPENROUTER_KEY_LIMIT`).
    public var limitUsd: Double?
    /// `daily`, `weekly` or `monthly`, as OpenRouter's `limit_reset`.
    public var limitReset: LimitReset?
    /// What the agent's own `credits-topup` may do; none: 20 up to 100, no daily count (today's pool).
    public var topUp: TopUp?

    public init(limitUsd: Double? = nil, limitReset: LimitReset? = nil, topUp: TopUp? = nil) {
        self.limitUsd = limitUsd
        self.limitReset = limitReset
        self.topUp = topUp
    }

    /// A runtime's self-service top-up: `incrementUsd` each time, never past `maxUsd`, at most
    /// `perDay` times in 24 hours (none: no count).
    public struct TopUp: Codable, Sendable, Equatable {
        public var incrementUsd: Double
        public var maxUsd: Double
        public var perDay: Int?
        public init(incrementUsd: Double, maxUsd: Double, perDay: Int? = nil) {
            self.incrementUsd = incrementUsd
            self.maxUsd = maxUsd
            self.perDay = perDay
        }
        /// Today's pool: `OPENROUTER_TOPUP_INCREMENT` 20, `OPENROUTER_TOPUP_MAX` 100.
        public static let `default` = TopUp(incrementUsd: 20, maxUsd: 100)

        func validate(at path: String) -> [FieldError] {
            var errors: [FieldError] = []
            if !(incrementUsd > 0 && incrementUsd <= 10_000) { errors.append(FieldError("\(path).incrementUsd", "must be > 0 and at most 10000")) }
            if !(maxUsd > 0 && maxUsd <= 10_000) { errors.append(FieldError("\(path).maxUsd", "must be > 0 and at most 10000")) }
            if let perDay, !(1...1000).contains(perDay) { errors.append(FieldError("\(path).perDay", "must be from 1 to 1000")) }
            return errors
        }
    }

    public enum LimitReset: String, WireEnum { case daily, weekly, monthly }

    func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let limit = limitUsd, !(limit > 0 && limit <= 10_000) {
            errors.append(FieldError("\(path).limitUsd", "must be > 0 and at most 10000"))
        }
        if let topUp { errors += topUp.validate(at: "\(path).topUp") }
        return errors
    }
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
