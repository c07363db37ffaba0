import Testing
@testable import Controller

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
        for (name, value) in [("PORT", "eighty"), ("RECONCILE_INTERVAL", "soon"), ("POOL_MIN_IDLE", "-1"), ("LOG_LEVEL", "loud")] {
            do {
                _ = try ServeConfiguration.fromEnvironment(base.merging(["BIND_ADDRESS": "127.0.0.1", name: value]) { $1 })
                Issue.record("accepted \(name)=\(value)")
            } catch {
                #expect("\(error)".hasPrefix(name), "\(error)")
            }
        }
        #expect(throws: ServeConfiguration.Invalid.self) { try ServeConfiguration.fromEnvironment([:]) }
    }

    @Test func parsesDurationsAndCollectsSecrets() throws {
        let c = try ServeConfiguration.fromEnvironment(base.merging(
            ["CONTROLLER_API_TOKEN": "tok-123", "RECONCILE_INTERVAL": "500ms", "BANKR_KEYS": "bk_one,bk_two"]) { $1 })
        #expect(c.reconcileInterval == .milliseconds(500))
        #expect(ServeConfiguration.parseDuration("2m") == .seconds(120))
        #expect(Set(c.secrets).isSuperset(of: ["tok-123", "bk_one", "bk_two", "pw-secret"]))
        let redactor = Redactor(secrets: c.secrets)
        #expect(redactor.redact("token tok-123 and key bk_two at pw-secret") == "token [REDACTED] and key [REDACTED] at [REDACTED]")
    }
}
