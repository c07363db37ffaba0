import Foundation
import Simulator
import CLI

/// `simulate [--port N]`: the simulated cloud alone, with faults from flags.
package enum SimulateCommand {
    package static func run(_ args: [String]) async throws -> Int32 {
        let valued: Set<String> = ["--port", "--host", "--error-rate", "--latency-ms", "--rate-limit-every", "--lost-response-rate",
                                   "--timeout-rate", "--deploy-delay-ms", "--order-delay-ms", "--health-delay-ms", "--provision-delay-ms",
                                   "--restart-delay-ms", "--profile", "--runtime"]
        let a = try Arguments(args, valued: valued, flags: ["--runtime-extensions"])
        guard a.positional.isEmpty else { throw CLIFailure.usage("usage: convos-controller simulate [--port N] [fault flags]") }
        func number(_ flag: String) throws -> Double? {
            guard let text = a.values[flag] else { return nil }
            guard let n = Double(text), n >= 0 else { throw CLIFailure.usage("error: \(flag) takes a number >= 0, got \(text)") }
            return n
        }
        var faults = Faults()
        faults.errorRate = try number("--error-rate") ?? 0
        faults.latencyMs = Int(try number("--latency-ms") ?? 0)
        faults.rateLimitEvery = Int(try number("--rate-limit-every") ?? 0)
        faults.lostResponseRate = try number("--lost-response-rate") ?? 0
        faults.timeoutRate = try number("--timeout-rate") ?? 0
        if let problem = faults.validate().first { throw CLIFailure.usage("error: \(problem)") }
        guard var options = SimulatorOptions.profile(a.values["--profile"] ?? "fast") else {
            throw CLIFailure.usage("error: --profile takes fast or realistic, got \(a.values["--profile"] ?? "")")
        }
        if let ms = try number("--deploy-delay-ms") { options.deployDelay = .milliseconds(Int64(ms)) }
        if let ms = try number("--order-delay-ms") { options.orderDelay = .milliseconds(Int64(ms)) }
        if let ms = try number("--health-delay-ms") { options.healthDelay = .milliseconds(Int64(ms)) }
        if let ms = try number("--provision-delay-ms") { options.provisionDelay = .milliseconds(Int64(ms)) }
        if let ms = try number("--restart-delay-ms") { options.restartDelay = .milliseconds(Int64(ms)) }
        if let runtime = a.values["--runtime"] {
            guard let generation = RuntimeGeneration(rawValue: runtime) else { throw CLIFailure.usage("error: --runtime takes today or seed, got \(runtime)") }
            options.runtime = generation
        }
        // The seed's "future" runtime endpoints, which the real runtime answers with 404.
        options.runtimeExtensions = a.flags.contains("--runtime-extensions")
        let port = Int(try number("--port") ?? 8090)
        guard port <= 65535 else { throw CLIFailure.usage("error: --port takes 0 to 65535") }
        let simulator = try await Simulator(host: a.values["--host"] ?? "127.0.0.1", port: port, options: options, faults: faults)
        // One unbuffered write, so a script reading our output sees the URLs at once.
        let banner = """
            simulated cloud at \(simulator.baseURL)
              RAILWAY_API_URL=\(simulator.railwayURL)
              GHCR_URL=\(simulator.ghcrURL)
              OPENROUTER_API_URL=\(simulator.openRouterURL)
              TELNYX_API_URL=\(simulator.telnyxURL)
              AGENTMAIL_API_URL=\(simulator.agentMailURL)
              BANKR_API_URL=\(simulator.bankrURL)
              INSTANCE_URL_SCHEME=http   ledger: \(simulator.baseURL)/_sim/ledger   faults: POST \(simulator.baseURL)/_sim/faults

            """
        FileHandle.standardOutput.write(Data(banner.utf8))
        _ = await Signals.waitForTermination()
        await simulator.shutdown()
        return 0
    }
}
