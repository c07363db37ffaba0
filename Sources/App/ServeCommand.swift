import Foundation
import Simulator
import CLI
import Store
import Telemetry

/// `serve` and `migrate`: the server side of the binary.
package enum ServeCommand {
    package static func run(_ args: [String], environment: [String: String]) async throws -> Int32 {
        let a = try Arguments(args, valued: ["--profile", "--railway-tokens", "--runtime"], flags: ["--simulate", "--tls"])
        let usage = "usage: convos-controller serve [--simulate [--profile fast|realistic] [--runtime today|seed] [--railway-tokens N] [--tls]]"
        guard a.positional.isEmpty else { throw CLIFailure.usage(usage) }
        let simulate = a.flags.contains("--simulate")
        guard simulate || (a.values["--profile"] == nil && a.values["--railway-tokens"] == nil && a.values["--runtime"] == nil
                           && !a.flags.contains("--tls")) else {
            throw CLIFailure.usage("error: --profile, --runtime, --railway-tokens and --tls go with --simulate\n" + usage)
        }
        guard var options = SimulatorOptions.profile(a.values["--profile"] ?? "fast") else {
            throw CLIFailure.usage("error: --profile takes fast or realistic, got \(a.values["--profile"] ?? "")")
        }
        if let runtime = a.values["--runtime"] {
            guard let generation = RuntimeGeneration(rawValue: runtime) else { throw CLIFailure.usage("error: --runtime takes today or seed, got \(runtime)") }
            options.runtime = generation
        }
        var configuration: ServeConfiguration
        do {
            configuration = try ServeConfiguration.fromEnvironment(environment)
        } catch let invalid as ServeConfiguration.Invalid {
            throw CLIFailure.usage("error: \(invalid.description)")
        }
        // A throwaway self-signed certificate, for loopback only: real deployments bring their own.
        configuration.selfSignedTLS = a.flags.contains("--tls")
        if let n = a.values["--railway-tokens"] {
            guard let count = Int(n), (1...64).contains(count) else { throw CLIFailure.usage("error: --railway-tokens takes 1 to 64, got \(n)") }
            configuration.simulatedRailwayTokens = count
        }
        let logger = Logger(level: configuration.logLevel, json: configuration.logJSON, secrets: configuration.secrets)
        // Before the connections' threads start allocating (`Allocator`).
        Allocator.limitArenas()
        let controller: Controller
        do {
            controller = try await Controller.start(configuration, logger: logger, environment: environment,
                                                    simulate: simulate, simulatorOptions: options)
        } catch {
            logger.error("cannot start", ["error": "\(error)"])
            Logger.flush()
            return CLIFailure.Code.failure.rawValue
        }
        let signal = await Signals.waitForTermination()
        logger.info("signal received", ["signal": signal == SIGTERM ? "SIGTERM" : "SIGINT"])
        await controller.shutdown()
        Logger.flush()
        return 0
    }

    package static func migrate(environment: [String: String]) async throws -> Int32 {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else { throw CLIFailure.usage("error: DATABASE_URL is required") }
        let db = PostgresPoolFactory.make(url)
        do {
            let applied = try await Migrations.migrator.migrate(db)
            print(applied.isEmpty ? "schema is current (version \(Migrations.migrator.latestVersion))"
                                  : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
            await db.close()
            return 0
        } catch {
            throw CLIFailure(code: .failure, lines: ["error: \(Redactor(secrets: [URLComponents(string: url)?.password ?? ""]).redact("\(error)"))"])
        }
    }
}
