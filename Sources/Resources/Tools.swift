/// The external tools an instance can hold, in the seed's teardown order (OpenRouter, AgentMail,
/// Telnyx, Bankr). The raw values are the seed's tool ids: `email`, `sms` and `crypto` are what
/// templates declare; `openrouter` (and the wallet, which is only a variable) come with every
/// instance at creation.
public enum ToolName: String, WireEnum, Comparable {
    case openrouter, email, sms, crypto

    /// The tools a template may declare.
    public static let declarable: [ToolName] = [.email, .sms, .crypto]

    public static func < (a: ToolName, b: ToolName) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The provider that makes the resource.
    public var provider: String {
        switch self {
        case .openrouter: return "openrouter"
        case .email: return "agentmail"
        case .sms: return "telnyx"
        case .crypto: return "bankr"
        }
    }

    /// A name for people: the registry and the dashboard show it.
    public var displayName: String {
        switch self {
        case .openrouter: return "OpenRouter"
        case .email: return "AgentMail"
        case .sms: return "Telnyx"
        case .crypto: return "Bankr"
        }
    }

    /// The runtime variables the tool sets (CONTRACT.md section 6).
    public var envKeys: [String] {
        switch self {
        case .openrouter: return ["OPENROUTER_API_KEY"]
        case .email: return ["AGENTMAIL_INBOX_ID", "AGENTMAIL_API_KEY"]
        case .sms: return ["TELNYX_PHONE_NUMBER", "TELNYX_MESSAGING_PROFILE_ID", "TELNYX_API_KEY"]
        case .crypto: return ["BANKR_API_KEY"]
        }
    }

    /// How the tool may be provisioned: by the controller (`pool`), from the claim's `userConfig`
    /// (`user`), or both.
    public var provisioningModes: [Provisioning] {
        self == .openrouter ? [.pool] : [.pool, .user]
    }

    /// The `userConfig` keys a `provisioning: user` tool takes, each with the variable it becomes.
    /// Required keys first.
    public var userConfigKeys: [UserConfigKey] {
        switch self {
        case .openrouter: return []
        case .email: return [UserConfigKey("agentmailApiKey", env: "AGENTMAIL_API_KEY"),
                             UserConfigKey("agentmailInboxId", env: "AGENTMAIL_INBOX_ID")]
        case .sms: return [UserConfigKey("telnyxApiKey", env: "TELNYX_API_KEY"),
                           UserConfigKey("telnyxPhoneNumber", env: "TELNYX_PHONE_NUMBER"),
                           UserConfigKey("telnyxMessagingProfileId", env: "TELNYX_MESSAGING_PROFILE_ID", required: false)]
        case .crypto: return [UserConfigKey("bankrApiKey", env: "BANKR_API_KEY")]
        }
    }

    /// The options a template may set on the tool, with a check of each value.
    var optionChecks: [String: (String, String) -> [FieldError]] {
        switch self {
        case .sms:
            return ["country": { value, path in
                value.count == 2 && value.allSatisfy { $0.isASCII && $0.isUppercase }
                    ? [] : [FieldError(path, "must be an ISO 3166 alpha-2 code, like US")]
            }]
        case .email:
            return ["displayName": { value, path in Check.text(value, at: path, max: 128) }]
        case .openrouter, .crypto:
            return [:]
        }
    }
}

/// Who makes a tool's resource: the controller, or the user through the claim's `userConfig`.
public enum Provisioning: String, WireEnum {
    case pool, user
}

/// One key of a user-provisioned tool's `userConfig`.
public struct UserConfigKey: Sendable, Equatable {
    public var name: String
    public var env: String
    public var required: Bool
    public init(_ name: String, env: String, required: Bool = true) {
        self.name = name
        self.env = env
        self.required = required
    }
}

/// The claim's `userConfig`: write-only credentials for `provisioning: user` tools, checked
/// against the tools that need them. Values never appear in an error message.
public enum UserConfig {
    /// Every problem with `values` for `tools`, by path (`userConfig.telnyxApiKey`).
    public static func validate(_ values: [String: String], for tools: [TemplateTool]) -> [FieldError] {
        let userTools = tools.filter { $0.provisioning == .user }
        let known = Set(userTools.flatMap { $0.id.userConfigKeys.map(\.name) })
        var errors: [FieldError] = []
        for tool in userTools {
            for key in tool.id.userConfigKeys where key.required {
                let value = values[key.name] ?? ""
                if value.trimmingCharacters(in: .whitespaces).isEmpty {
                    errors.append(FieldError("userConfig.\(key.name)", "required: the template's \(tool.id.rawValue) tool is provisioning: user"))
                }
            }
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            if !known.contains(key) {
                let expected = known.sorted().joined(separator: ", ")
                errors.append(FieldError("userConfig.\(String(key.prefix(64)))",
                                         expected.isEmpty ? "not expected: the template has no provisioning: user tool" : "unknown key; expected \(expected)"))
            } else if let error = valueError(key, value) {
                errors.append(error)
            }
        }
        return errors
    }

    /// Every problem with `values` as the services API sees them, without the template: each key
    /// one that some tool's `provisioning: user` reads, each value printable text of bounded size.
    public static func validateShape(_ values: [String: String]) -> [FieldError] {
        let known = Set(ToolName.allCases.flatMap { $0.userConfigKeys.map(\.name) })
        return values.sorted(by: { $0.key < $1.key }).compactMap { key, value in
            known.contains(key) ? valueError(key, value)
                : FieldError("userConfig.\(String(key.prefix(64)))", "unknown key; expected one of \(known.sorted().joined(separator: ", "))")
        }
    }

    private static func valueError(_ key: String, _ value: String) -> FieldError? {
        guard value.utf8.count > 4096 || value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
        return FieldError("userConfig.\(key)", "must be at most 4096 bytes without control characters")
    }

    /// The runtime variables `values` give `tool`.
    public static func env(_ values: [String: String], for tool: ToolName) -> [String: String] {
        var env: [String: String] = [:]
        for key in tool.userConfigKeys { if let v = values[key.name], !v.isEmpty { env[key.env] = v } }
        return env
    }
}
