import Foundation
import HTTPServer
import Providers
import RuntimeAPI
import Resources
import Services
import Telemetry

/// The environment of `serve`, as CONTRACT.md section 2 lists it. Parsed once at start; a bad value
/// stops the process with a message naming the variable.
public struct ServeConfiguration: Sendable {
    public var databaseURL: String
    /// `DATABASE_POOL_SIZE`: connections this replica opens at most. Fifty claims at once wait on
    /// far fewer at 8 (measured: their tools started up to a second late).
    public var databasePoolSize = 24
    /// `DATABASE_CLAIM_POOL_SIZE`: connections kept for `POST /api/pool/claim` alone, beside
    /// `databasePoolSize`, so no claim waits for a connection behind the reconciler's work.
    public var claimPoolSize = 16
    public var port: Int = 8080
    public var bindAddress: String = "0.0.0.0"
    public var apiToken: String?
    public var reconcileInterval: Duration = .seconds(5)
    /// How long the leader lease lasts without renewal; renewed every third of it.
    public var leaseDuration: Duration = .seconds(6)
    /// `DRAIN_TIMEOUT`: on SIGTERM, how long actions in flight may finish before they are cancelled.
    public var drainTimeout: Duration = .seconds(10)
    public var poolMinIdle: Int?
    public var servicesURL: String?
    /// `POOL_API_KEY`: a second token for `/api/pool/*`; `SERVICES_API_KEY`: one for the services routes.
    public var poolAPIKey: String?
    public var servicesAPIKey: String?
    /// An instance not healthy this long after creation is replaced.
    public var stuckTimeout: Duration = .seconds(900)
    /// The crash-loop rule: this many failed instances on one digest within the window stop a
    /// pool's creates (`POOL_FAILURE_LIMIT`, 0 turns it off; `POOL_FAILURE_WINDOW`).
    public var failureLimit = 3
    public var failureWindow: Duration = .seconds(600)
    /// Events are kept this long (`EVENT_RETENTION`), and at most this many (`EVENT_LIMIT`), newest kept.
    public var eventRetention: Duration = .seconds(7 * 86_400)
    public var eventLimit = 100_000
    /// `CHANGE_RETENTION`: how long the change log keeps superseded changes, so a watch can
    /// resume from a version this old (older ones get 410 Gone and list again).
    public var changeRetention: Duration = .seconds(3600)
    /// How long a claim waits for its invite by default.
    public var claimWait: Duration = .seconds(60)
    public var publicURL: String?
    /// `TLS_CERT_FILE` and `TLS_KEY_FILE`: PEM files; with them `serve` speaks HTTPS only (kubectl
    /// sends its token only over HTTPS). On Railway the edge terminates TLS and these stay unset.
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// `serve --simulate --tls`: a throwaway self-signed certificate for loopback, written to the
    /// TLS files when they are named and absent, else to a temporary folder.
    public var selfSignedTLS = false
    /// `RESYNC_INTERVAL`: the whole fleet is listed at Railway this often (events and polls of
    /// instances in transition do the rest).
    public var resyncInterval: Duration = .seconds(600)
    /// `RAILWAY_WEBHOOK_SECRET`: the secret in the webhook's path; made and kept in the database when unset.
    public var webhookSecret: String?
    /// `serve --simulate` only: how many Railway tokens the simulated pool has.
    public var simulatedRailwayTokens = 1
    /// How instances are made: image, environment, runtime settings, OpenRouter limits.
    public var services = ServicesSettings()
    public var logJSON = true
    public var logLevel: Logger.Level = .info
    /// `ATTESTATION_PRIVATE_KEY_PEM` and `ATTESTATION_KID`: the key that signs agents' attestations.
    public var attestationPEM: String?
    public var attestationKID = "convos-agents-1"
    /// `AGENTMAIL_WEBHOOK_SECRET` (`whsec_...`) and `TELNYX_PUBLIC_KEY` (base64): inbound webhooks'
    /// verification; without one, that provider's webhooks are refused.
    public var agentMailWebhookSecret: String?
    public var telnyxPublicKey: String?
    /// Self-service calls each instance may make a minute (CONTRACT.md section 8).
    public var runtimeCallsPerMinute = 60
    /// Services proxy reads each instance may make a minute (`PROXY_READS_PER_MINUTE`).
    public var proxyReadsPerMinute = 600
    /// Every secret value found in the environment, for the log redactor.
    public var secrets: [String] = []

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    package static let secretVariables = ["CONTROLLER_API_TOKEN", "POOL_API_KEY", "SERVICES_API_KEY", "RAILWAY_API_TOKEN", "RAILWAY_API_TOKENS",
                                  "GHCR_TOKEN", "OPENROUTER_PROVISIONING_KEY", "TELNYX_API_KEY", "AGENTMAIL_API_KEY", "BANKR_KEYS",
                                  "RAILWAY_WEBHOOK_SECRET", "ATTESTATION_PRIVATE_KEY_PEM", "AGENTMAIL_WEBHOOK_SECRET"]

    public init(databaseURL: String) { self.databaseURL = databaseURL }

    public static func fromEnvironment(_ env: [String: String]) throws -> ServeConfiguration {
        func value(_ name: String) -> String? {
            guard let v = env[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        guard let url = value("DATABASE_URL") else {
            throw Invalid(description: "DATABASE_URL is required (a libpq connection string or postgresql:// URI)")
        }
        var c = ServeConfiguration(databaseURL: url)
        if let n = value("DATABASE_POOL_SIZE") {
            guard let size = Int(n), (2...200).contains(size) else { throw Invalid(description: "DATABASE_POOL_SIZE must be a number from 2 to 200, got \(n)") }
            c.databasePoolSize = size
        }
        if let n = value("DATABASE_CLAIM_POOL_SIZE") {
            guard let size = Int(n), (1...64).contains(size) else { throw Invalid(description: "DATABASE_CLAIM_POOL_SIZE must be a number from 1 to 64, got \(n)") }
            c.claimPoolSize = size
        }
        if let p = value("PORT") {
            guard let port = Int(p), (0...65535).contains(port) else { throw Invalid(description: "PORT must be a number from 0 to 65535, got \(p)") }
            c.port = port
        }
        c.bindAddress = value("BIND_ADDRESS") ?? c.bindAddress
        c.apiToken = value("CONTROLLER_API_TOKEN")
        if let i = value("RECONCILE_INTERVAL") {
            guard let d = parseDuration(i), d > .zero else { throw Invalid(description: "RECONCILE_INTERVAL must be a duration like 5s or 500ms, got \(i)") }
            c.reconcileInterval = d
        }
        if let l = value("LEASE_DURATION") {
            guard let d = parseDuration(l), d >= .milliseconds(300), d <= .seconds(60) else {
                throw Invalid(description: "LEASE_DURATION must be a duration from 300ms to 60s, got \(l)")
            }
            c.leaseDuration = d
        }
        if let t = value("DRAIN_TIMEOUT") {
            guard let d = parseDuration(t), d >= .zero, d <= .seconds(60) else {
                throw Invalid(description: "DRAIN_TIMEOUT must be a duration from 0s to 60s, got \(t)")
            }
            c.drainTimeout = d
        }
        if let m = value("POOL_MIN_IDLE") {
            guard let n = Int(m), (0...1000).contains(n) else { throw Invalid(description: "POOL_MIN_IDLE must be a number from 0 to 1000, got \(m)") }
            c.poolMinIdle = n
        }
        c.servicesURL = value("SERVICES_URL")
        c.poolAPIKey = value("POOL_API_KEY")
        c.servicesAPIKey = value("SERVICES_API_KEY")
        c.publicURL = value("PUBLIC_URL")
        c.tlsCertFile = value("TLS_CERT_FILE")
        c.tlsKeyFile = value("TLS_KEY_FILE")
        guard (c.tlsCertFile == nil) == (c.tlsKeyFile == nil) else {
            throw Invalid(description: "TLS_CERT_FILE and TLS_KEY_FILE go together: set both (PEM files) or neither")
        }
        if let r = value("RESYNC_INTERVAL") {
            guard let d = parseDuration(r), d >= .seconds(10), d <= .seconds(86_400) else {
                throw Invalid(description: "RESYNC_INTERVAL must be a duration from 10s to 24h, got \(r)")
            }
            c.resyncInterval = d
        }
        c.webhookSecret = value("RAILWAY_WEBHOOK_SECRET")
        if let secret = c.webhookSecret, secret.count < 16 || !secret.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw Invalid(description: "RAILWAY_WEBHOOK_SECRET must be at least 16 letters, digits, - or _")
        }
        if let t = value("POOL_STUCK_TIMEOUT") {
            guard let d = parseDuration(t), d >= .seconds(1) else { throw Invalid(description: "POOL_STUCK_TIMEOUT must be a duration like 15m, got \(t)") }
            c.stuckTimeout = d
        }
        if let n = value("POOL_FAILURE_LIMIT") {
            guard let v = Int(n), (0...100).contains(v) else { throw Invalid(description: "POOL_FAILURE_LIMIT must be a whole number from 0 to 100, got \(n)") }
            c.failureLimit = v
        }
        if let w = value("POOL_FAILURE_WINDOW") {
            guard let d = parseDuration(w), d >= .seconds(1), d <= .seconds(86_400) else {
                throw Invalid(description: "POOL_FAILURE_WINDOW must be a duration from 1s to 24h, got \(w)")
            }
            c.failureWindow = d
        }
        if let r = value("EVENT_RETENTION") {
            guard let d = parseDuration(r), d >= .seconds(60), d <= .seconds(365 * 86_400) else {
                throw Invalid(description: "EVENT_RETENTION must be a duration from 1m to 365d, got \(r)")
            }
            c.eventRetention = d
        }
        if let r = value("CHANGE_RETENTION") {
            guard let d = parseDuration(r), d >= .seconds(60), d <= .seconds(30 * 86_400) else {
                throw Invalid(description: "CHANGE_RETENTION must be a duration from 1m to 30d, got \(r)")
            }
            c.changeRetention = d
        }
        if let n = value("EVENT_LIMIT") {
            guard let v = Int(n), (100...100_000_000).contains(v) else {
                throw Invalid(description: "EVENT_LIMIT must be a whole number from 100 to 100000000, got \(n)")
            }
            c.eventLimit = v
        }
        if let w = value("CLAIM_WAIT") {
            guard let d = parseDuration(w), d >= .zero, d <= .seconds(300) else {
                throw Invalid(description: "CLAIM_WAIT must be a duration from 0s to 300s, got \(w)")
            }
            c.claimWait = d
        }
        c.services = try servicesSettings(value, servicesURL: c.servicesURL, publicURL: c.publicURL)
        if value("RAILWAY_API_TOKEN") != nil || value("RAILWAY_API_TOKENS") != nil, value("RAILWAY_WORKSPACE_ID") == nil {
            throw Invalid(description: "RAILWAY_WORKSPACE_ID is required with a Railway token: projects are created in a workspace (personal workspaces are gone)")
        }
        if let f = value("LOG_FORMAT") {
            guard ["json", "text"].contains(f) else { throw Invalid(description: "LOG_FORMAT must be json or text, got \(f)") }
            c.logJSON = f == "json"
        }
        if let l = value("LOG_LEVEL") {
            guard let level = Logger.Level(name: l) else { throw Invalid(description: "LOG_LEVEL must be debug, info, warning or error, got \(l)") }
            c.logLevel = level
        }
        c.secrets = secretVariables.compactMap(value).flatMap { $0.split(separator: ",").map(String.init) + [$0] }
        if let reads = value("PROXY_READS_PER_MINUTE") {
            guard let n = Int(reads), (1...1_000_000).contains(n) else { throw Invalid(description: "PROXY_READS_PER_MINUTE must be 1 to 1000000, got \(reads)") }
            c.proxyReadsPerMinute = n
        }
        c.agentMailWebhookSecret = value("AGENTMAIL_WEBHOOK_SECRET")
        if let secret = c.agentMailWebhookSecret, InboundWebhooks.svixKey(secret) == nil {
            throw Invalid(description: "AGENTMAIL_WEBHOOK_SECRET must be whsec_ followed by base64, as AgentMail gives it")
        }
        c.telnyxPublicKey = value("TELNYX_PUBLIC_KEY")
        if let key = c.telnyxPublicKey, Data(base64Encoded: key)?.count != 32 {
            throw Invalid(description: "TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 public key, as Telnyx's portal shows it")
        }
        c.attestationPEM = value("ATTESTATION_PRIVATE_KEY_PEM")
        c.attestationKID = value("ATTESTATION_KID") ?? c.attestationKID
        _ = try c.attestationKey()
        // Never a runtime's: the controller's tokens and the account-wide provider keys.
        c.services.forbiddenValues = secretVariables.filter { $0 != "ATTESTATION_PRIVATE_KEY_PEM" }.compactMap(value)
            .flatMap { $0.split(separator: ",").map(String.init) + [$0] }
        // Shared with every runtime, yet still the controller's secrets (CONVOS_API_KEY).
        c.secrets += c.services.sharedEnv.values.filter { $0.count >= 8 }
        if let password = URLComponents(string: url)?.password { c.secrets.append(password) }
        guard c.apiToken != nil || isLoopback(c.bindAddress) else {
            throw Invalid(description: "CONTROLLER_API_TOKEN is not set: refusing to serve on \(c.bindAddress) without a token (set one, or BIND_ADDRESS=127.0.0.1)")
        }
        return c
    }

    /// The services settings of CONTRACT.md section 2, each bad value named.
    package static func servicesSettings(_ value: (String) -> String?, servicesURL: String?, publicURL: String?) throws -> ServicesSettings {
        var s = ServicesSettings()
        s.environmentName = value("RAILWAY_ENVIRONMENT_NAME") ?? s.environmentName
        s.agentImage = value("AGENT_IMAGE") ?? s.agentImage
        s.agentImageTag = value("AGENT_IMAGE_TAG") ?? ServicesSettings.defaultTag(environment: s.environmentName)
        guard ImageReference(s.image) != nil else {
            throw Invalid(description: "AGENT_IMAGE and AGENT_IMAGE_TAG must make an image reference like ghcr.io/owner/name:tag, got \(s.image)")
        }
        s.startCommand = value("RUNTIME_START_COMMAND") ?? s.startCommand
        // Where runtimes call back: self-service and the services proxy.
        s.poolURL = value("POOL_URL") ?? publicURL
        if let url = s.poolURL, URL(string: url)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw Invalid(description: "POOL_URL must be an http(s) URL, got \(url)")
        }
        if let names = value("RUNTIME_SHARED_ENV") {
            for name in names.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                if let problem = RuntimeVariables.checkPoolVariable(name, "", at: "RUNTIME_SHARED_ENV").first {
                    throw Invalid(description: "RUNTIME_SHARED_ENV names \(name): \(problem.message)")
                }
                guard let shared = value(name) else { throw Invalid(description: "RUNTIME_SHARED_ENV names \(name), which is not set") }
                s.sharedEnv[name] = shared
            }
        }
        func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let text = value(name) else { return nil }
            guard let n = Double(text), range.contains(n) else {
                throw Invalid(description: "\(name) must be a number from \(range.lowerBound) to \(range.upperBound), got \(text)")
            }
            return n
        }
        s.cpu = try number("RUNTIME_CPU", 0.1...64) ?? s.cpu
        s.memoryGB = try number("RUNTIME_MEMORY_GB", 0.1...256) ?? s.memoryGB
        s.openRouterKeyLimit = try number("OPENROUTER_KEY_LIMIT", 0.01...10_000) ?? s.openRouterKeyLimit
        if let reset = value("OPENROUTER_KEY_LIMIT_RESET") {
            guard OpenRouterSettings.LimitReset(rawValue: reset) != nil else {
                throw Invalid(description: "OPENROUTER_KEY_LIMIT_RESET must be daily, weekly or monthly, got \(reset)")
            }
            s.openRouterKeyLimitReset = reset
        }
        if let release = value("TELNYX_RELEASE") {
            guard let r = TelnyxRelease(rawValue: release) else { throw Invalid(description: "TELNYX_RELEASE must be pool or delete, got \(release)") }
            s.telnyxRelease = r
        }
        if let spare = value("TELNYX_SPARE_NUMBERS") {
            guard let n = Int(spare), (0...1_000).contains(n) else { throw Invalid(description: "TELNYX_SPARE_NUMBERS must be a whole number from 0 to 1000, got \(spare)") }
            s.spareNumbers = n
        }
        s.xmtpEnv = value("XMTP_ENV") ?? s.xmtpEnv
        s.primaryModel = value("OPENCLAW_PRIMARY_MODEL")
        // Where a runtime reaches the services to provision for itself.
        s.runtimeServicesURL = servicesURL ?? publicURL ?? value("RAILWAY_PUBLIC_DOMAIN").map { "https://\($0)" }
        if let token = value("GHCR_TOKEN") {
            let owner = ImageReference(s.image)?.repository.split(separator: "/").first.map(String.init) ?? "convos"
            s.registryCredentials = RegistryCredentials(username: value("GHCR_USERNAME") ?? owner, password: token)
        }
        return s
    }

    package static func isLoopback(_ address: String) -> Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }

    /// `5s`, `500ms`, `2m`, or a bare number of seconds.
    package static func parseDuration(_ text: String) -> Duration? { Durations.parse(text) }
}

extension ServeConfiguration {
    /// The server's TLS credentials: read from `TLS_CERT_FILE` and `TLS_KEY_FILE`, or, with
    /// `selfSignedTLS`, made now (and written to those files when they are named and absent, so
    /// `convos-controller kubeconfig` can name the CA). Nil: plain HTTP.
    package func tlsCredentials(logger: Logger) throws -> TLSCredentials? {
        let fm = FileManager.default
        if let cert = tlsCertFile, let key = tlsKeyFile, fm.fileExists(atPath: cert) || !selfSignedTLS {
            do {
                return TLSCredentials(certificatePEM: try String(contentsOfFile: cert, encoding: .utf8),
                                      keyPEM: try String(contentsOfFile: key, encoding: .utf8))
            } catch {
                throw Invalid(description: "TLS_CERT_FILE or TLS_KEY_FILE cannot be read: \(error.localizedDescription)")
            }
        }
        guard selfSignedTLS else { return nil }
        let made = try TLSCredentials.selfSigned()
        var certPath = tlsCertFile, keyPath = tlsKeyFile
        if certPath == nil || keyPath == nil {
            let folder = NSTemporaryDirectory() + "convos-controller-tls-\(getpid())"
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            certPath = folder + "/tls.crt"
            keyPath = folder + "/tls.key"
        }
        guard let certPath, let keyPath else { return made }
        for path in [certPath, keyPath] {
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        guard fm.createFile(atPath: keyPath, contents: Data(made.keyPEM.utf8), attributes: [.posixPermissions: 0o600]),
              fm.createFile(atPath: certPath, contents: Data(made.certificatePEM.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw Invalid(description: "cannot write the self-signed certificate to \(certPath) and \(keyPath)")
        }
        logger.info("self-signed TLS certificate for loopback", ["certificate": certPath])
        return made
    }
}

extension ServeConfiguration {
    /// The attestation key, nil when none is configured; a bad PEM is refused at start.
    package func attestationKey() throws -> AttestationKey? {
        guard let pem = attestationPEM else { return nil }
        do { return try AttestationKey(pem: pem.replacingOccurrences(of: "\\n", with: "\n"), kid: attestationKID) } catch let error as AttestationKey.Invalid {
            throw Invalid(description: error.description)
        }
    }
}
