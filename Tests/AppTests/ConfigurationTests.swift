import Testing
import App
import Telemetry
import Services
import AppTestSupport

@Suite struct ConfigurationTests {
    let base = ["DATABASE_URL": "postgresql://u:pw-secret@db/x"]

    @Test func refusesToServeWithoutTokenOffLoopback() {
        #expect(throws: ServeConfiguration.Invalid.self) { try ServeConfiguration.fromEnvironment(base) }
        #expect(throws: ServeConfiguration.Invalid.self) {
            try ServeConfiguration.fromEnvironment(base.merging(["BIND_ADDRESS": "10.0.0.1"]) { $1 })
        }
        #expect(throws: Never.self) { try ServeConfiguration.fromEnvironment(base.merging(["BIND_ADDRESS": "127.0.0.1"]) { $1 }) }
        #expect(throws: Never.self) { try ServeConfiguration.fromEnvironment(base.merging(["CONTROLLER_API_TOKEN": "t0ken"]) { $1 }) }
    }

    @Test func badValuesNameTheVariable() {
        for (name, value) in [("PORT", "eighty"), ("RECONCILE_INTERVAL", "soon"), ("POOL_MIN_IDLE", "-1"), ("LOG_LEVEL", "loud"),
                              ("POOL_STUCK_TIMEOUT", "never"), ("CLAIM_WAIT", "301s"), ("RUNTIME_CPU", "lots"), ("RUNTIME_MEMORY_GB", "0"),
                              ("OPENROUTER_KEY_LIMIT", "-5"), ("OPENROUTER_KEY_LIMIT_RESET", "yearly"), ("AGENT_IMAGE", "no image"),
                              ("DATABASE_POOL_SIZE", "1"), ("DATABASE_POOL_SIZE", "many"), ("DATABASE_CLAIM_POOL_SIZE", "0"),
                              ("DATABASE_CLAIM_POOL_SIZE", "65"), ("POOL_FAILURE_LIMIT", "-1"),
                              ("POOL_FAILURE_WINDOW", "2d"), ("EVENT_RETENTION", "10s"), ("EVENT_LIMIT", "5"),
                              ("DRAIN_TIMEOUT", "61s"), ("DRAIN_TIMEOUT", "soon")] {
            do {
                _ = try ServeConfiguration.fromEnvironment(base.merging(["BIND_ADDRESS": "127.0.0.1", name: value]) { $1 })
                Issue.record("accepted \(name)=\(value)")
            } catch {
                #expect("\(error)".hasPrefix(name), "\(error)")
            }
        }
        #expect(throws: ServeConfiguration.Invalid.self) { try ServeConfiguration.fromEnvironment([:]) }
    }

    /// Projects are created in a workspace: a Railway token without one is refused at start, by name.
    @Test func railwayTokenWithoutWorkspaceIsRefused() throws {
        let loopback = base.merging(["BIND_ADDRESS": "127.0.0.1"]) { $1 }
        for token in ["RAILWAY_API_TOKEN", "RAILWAY_API_TOKENS"] {
            do {
                _ = try ServeConfiguration.fromEnvironment(loopback.merging([token: "rw-token"]) { $1 })
                Issue.record("accepted \(token) without RAILWAY_WORKSPACE_ID")
            } catch {
                #expect("\(error)".hasPrefix("RAILWAY_WORKSPACE_ID is required"), "\(error)")
                #expect(!"\(error)".contains("rw-token"))
            }
        }
        #expect(throws: Never.self) {
            try ServeConfiguration.fromEnvironment(loopback.merging(["RAILWAY_API_TOKEN": "rw", "RAILWAY_WORKSPACE_ID": "ws"]) { $1 })
        }
    }

    /// The seed's settings: the image tag follows the environment, runtimes reach the services, GHCR's
    /// token becomes the registry credentials.
    @Test func servicesSettingsFollowTheEnvironment() throws {
        let loopback = base.merging(["BIND_ADDRESS": "127.0.0.1"]) { $1 }
        let production = try ServeConfiguration.fromEnvironment(loopback)
        #expect(production.services.image == "ghcr.io/xmtplabs/convos-runtime:production")
        #expect(production.stuckTimeout == .seconds(900) && production.claimWait == .seconds(60))
        #expect(production.databasePoolSize == 24)
        #expect(try ServeConfiguration.fromEnvironment(loopback.merging(["DATABASE_POOL_SIZE": "40"]) { $1 }).databasePoolSize == 40)
        #expect(try ServeConfiguration.fromEnvironment(loopback.merging(["DATABASE_CLAIM_POOL_SIZE": "2"]) { $1 }).claimPoolSize == 2)
        let staging = try ServeConfiguration.fromEnvironment(loopback.merging([
            "RAILWAY_ENVIRONMENT_NAME": "staging", "PUBLIC_URL": "https://pool.example", "GHCR_TOKEN": "ghp_x",
            "RUNTIME_START_COMMAND": "node convos-platform/pool-server/dist/index.js", "OPENROUTER_KEY_LIMIT": "7.5", "CLAIM_WAIT": "0s"]) { $1 })
        #expect(staging.services.image == "ghcr.io/xmtplabs/convos-runtime:staging" && staging.services.environmentName == "staging")
        #expect(staging.services.runtimeServicesURL == "https://pool.example")
        #expect(staging.services.registryCredentials?.username == "xmtplabs" && staging.services.registryCredentials?.password == "ghp_x")
        #expect(staging.services.openRouterKeyLimit == 7.5 && staging.claimWait == .zero)
        #expect(staging.secrets.contains("ghp_x"))
        let pinned = try ServeConfiguration.fromEnvironment(loopback.merging(["RAILWAY_ENVIRONMENT_NAME": "staging", "AGENT_IMAGE_TAG": "sha-abc123"]) { $1 })
        #expect(pinned.services.image == "ghcr.io/xmtplabs/convos-runtime:sha-abc123")
    }

    @Test func parsesDurationsAndCollectsSecrets() throws {
        let c = try ServeConfiguration.fromEnvironment(base.merging(
            ["CONTROLLER_API_TOKEN": "tok-123", "RECONCILE_INTERVAL": "500ms", "BANKR_KEYS": "bk_one,bk_two", "DRAIN_TIMEOUT": "1s"]) { $1 })
        #expect(c.reconcileInterval == .milliseconds(500))
        #expect(c.drainTimeout == .seconds(1))
        #expect(ServeConfiguration.parseDuration("2m") == .seconds(120))
        #expect(Set(c.secrets).isSuperset(of: ["tok-123", "bk_one", "bk_two", "pw-secret"]))
        let redactor = Redactor(secrets: c.secrets)
        #expect(redactor.redact("token tok-123 and key bk_two at pw-secret") == "token [REDACTED] and key [REDACTED] at [REDACTED]")
    }
}

/// Issue 23's settings: what runtimes are given and call back.
@Suite struct RuntimeSettingsTests {
    let base = ["DATABASE_URL": "postgresql://u@db/x", "BIND_ADDRESS": "127.0.0.1"]

    @Test func poolURLSharedEnvAndAttestationKey() throws {
        var env = base
        env["PUBLIC_URL"] = "https://controller.example"
        env["RUNTIME_SHARED_ENV"] = "CONVOS_API_KEY, POSTHOG_HOST"
        env["CONVOS_API_KEY"] = "convos-shared-Sekr3t"
        env["POSTHOG_HOST"] = "https://ph.example"
        let c = try ServeConfiguration.fromEnvironment(env)
        #expect(c.services.poolURL == "https://controller.example", "POOL_URL defaults to PUBLIC_URL")
        #expect(c.services.sharedEnv == ["CONVOS_API_KEY": "convos-shared-Sekr3t", "POSTHOG_HOST": "https://ph.example"])
        #expect(c.secrets.contains("convos-shared-Sekr3t"), "shared values are redacted from logs")
        #expect(c.services.startCommand == "node convos-platform/pool-server/dist/index.js")
        env["POOL_URL"] = "https://pool.example"
        #expect(try ServeConfiguration.fromEnvironment(env).services.poolURL == "https://pool.example")

        func refused(_ extra: [String: String], _ fragment: String) {
            do {
                _ = try ServeConfiguration.fromEnvironment(base.merging(extra) { _, b in b })
                Issue.record("accepted \(extra)")
            } catch {
                #expect("\(error)".contains(fragment), "\(error)")
            }
        }
        refused(["POOL_URL": "ftp://x"], "POOL_URL must be an http(s) URL")
        refused(["RUNTIME_SHARED_ENV": "NOT_SET_ANYWHERE"], "RUNTIME_SHARED_ENV names NOT_SET_ANYWHERE, which is not set")
        refused(["RUNTIME_SHARED_ENV": "GATEWAY_TOKEN", "GATEWAY_TOKEN": "x"], "set by the controller")
        refused(["ATTESTATION_PRIVATE_KEY_PEM": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"], "ATTESTATION_PRIVATE_KEY_PEM")
    }
}
