/// A warm pool of agent instances: `minIdle` ready and unclaimed, never more than `maxInstances`.
public struct PoolSpec: ResourceSpec {
    public static let kind = ResourceKind.pool
    public static let defaultMaxInstances = 50

    public var minIdle: Int
    public var maxInstances: Int
    /// The runtime image; its tag is resolved to a digest, and instances run that digest.
    public var image: String
    /// Plain variables for every runtime of the pool (`DEFAULT_AGENT_NAME`...). Never a name the
    /// contract gives (`GATEWAY_TOKEN`, `POOL_URL`...): those are the controller's.
    public var env: [String: String]?
    /// How a new digest reaches claimed agents (`RolloutPolicy`); nil: the defaults.
    public var rollout: RolloutPolicy?

    public init(minIdle: Int, maxInstances: Int = PoolSpec.defaultMaxInstances, image: String, env: [String: String]? = nil,
                rollout: RolloutPolicy? = nil) {
        self.minIdle = minIdle
        self.maxInstances = maxInstances
        self.image = image
        self.env = env
        self.rollout = rollout
    }

    enum CodingKeys: String, CodingKey { case minIdle, maxInstances, image, env, rollout }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        minIdle = try c.decode(Int.self, forKey: .minIdle)
        maxInstances = try c.decodeIfPresent(Int.self, forKey: .maxInstances) ?? Self.defaultMaxInstances
        image = try c.decode(String.self, forKey: .image)
        env = try c.decodeIfPresent([String: String].self, forKey: .env)
        rollout = try c.decodeIfPresent(RolloutPolicy.self, forKey: .rollout)
    }

    public func validate() -> [FieldError] {
        var errors = Check.range(minIdle, 0...100_000, at: "spec.minIdle")
        errors += Check.range(maxInstances, 1...100_000, at: "spec.maxInstances")
        if maxInstances < minIdle {
            errors.append(FieldError("spec.maxInstances", "must be at least spec.minIdle (\(minIdle))"))
        }
        if ImageReference(image) == nil {
            errors.append(FieldError("spec.image", "must be an image reference with a registry, like ghcr.io/owner/name:tag"))
        }
        for (name, value) in (env ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors += RuntimeVariables.checkPoolVariable(name, value, at: "spec.env.\(name)")
        }
        errors += rollout?.validate(at: "spec.rollout") ?? []
        return errors
    }
}

/// What the reconciler last saw of a pool.
public struct PoolStatus: Codable, Sendable, Equatable {
    public var observedGeneration: Int = 0
    /// The digest the image tag resolved to; new instances run it.
    public var imageDigest: String?
    public var idle: Int = 0
    public var provisioning: Int = 0
    public var claimed: Int = 0
    public var failed: Int = 0
    public var deleting: Int = 0
    /// Claimed agents moving to a new digest; nil when none is behind it.
    public var rollout: RolloutStatus?
    public var conditions: [Condition] = []
    public init() {}
}
