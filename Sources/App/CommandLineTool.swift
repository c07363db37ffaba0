import Foundation
import CLI

/// `convos-controller`'s commands (CONTRACT.md section 1). `main.swift` calls `run` and exits with
/// its code: 0 success, 1 changes found (diff), 2 usage, 3 refused by the server, 4 server or network.
public enum CommandLineTool {
    package static let usage = """
        usage: convos-controller <command> [options]

        server commands:
          serve [--simulate [--profile fast|realistic] [--railway-tokens N] [--tls]]
                                      run the API and controller (configured by the environment);
                                      --simulate starts the simulated cloud in-process;
                                      --tls serves HTTPS with a throwaway self-signed certificate
          migrate                     apply database migrations and exit
          kubeconfig [--server URL] [--ca FILE]
                                      a kubeconfig for kubectl: CONTROLLER_URL, its token, the CA
          simulate [--port N] [--profile fast|realistic]
                                      the simulated cloud alone; fault flags: --error-rate R --latency-ms N
                                      --rate-limit-every N --lost-response-rate R --timeout-rate R
                                      --deploy-delay-ms N --order-delay-ms N; runtimes: --health-delay-ms N
                                      --provision-delay-ms N --restart-delay-ms N --runtime-extensions

        client commands (CONTROLLER_URL, CONTROLLER_API_TOKEN):
          apply -f PATH|- [--dry-run] send YAML specs (a file, a folder of *.yaml, or stdin)
          diff -f PATH                show what apply would change; exit 1 when there are changes
          get KIND [NAME] [-o json|yaml] [-w]
                                      KIND: pools, agenttemplates, agents, instances
          delete KIND NAME
          describe KIND NAME          the object, its conditions, what is backing off and its latest events
          claim [--template T] [--owner O] [--agent-name N] [--instructions I] [--join-url U] [--model M]
                [--user-config KEY=VALUE]... [--clone-from AGENT] [--wait DURATION]
          status                      pool, agents, leader, last tick and providers, as tables
          rollout status|pause|resume|undo pool/NAME
                                      a pool's runtime rollout to its claimed agents (status: exit 0 complete, 1 halted)
        """

    public static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        Signals.unblockTermination()
        var args = Array(arguments.dropFirst())
        guard let command = args.first else { return fail(.usage(usage)) }
        args.removeFirst()
        do {
            switch command {
            case "serve": return try await ServeCommand.run(args, environment: environment)
            case "migrate": return try await ServeCommand.migrate(environment: environment)
            case "simulate": return try await SimulateCommand.run(args)
            case "apply": try await ClientCommands.apply(args, client: ControllerClient(environment: environment))
            case "diff": try await ClientCommands.diff(args, client: ControllerClient(environment: environment))
            case "get": try await ClientCommands.get(args, client: ControllerClient(environment: environment))
            case "delete": try await ClientCommands.delete(args, client: ControllerClient(environment: environment))
            case "describe": try await DescribeCommand.run(args, client: ControllerClient(environment: environment))
            case "claim": try await OperatorCommands.claim(args, client: ControllerClient(environment: environment))
            case "status": try await OperatorCommands.status(args, client: ControllerClient(environment: environment))
            case "rollout": try await RolloutClient.run(args, client: ControllerClient(environment: environment))
            case "kubeconfig": print(try KubeconfigCommand.run(args, environment: environment), terminator: ""); return 0
            case "help", "-h", "--help": print(usage); return 0
            default: return fail(.usage("error: unknown command \"\(command)\"\n\n\(usage)"))
            }
            return 0
        } catch let failure as CLIFailure {
            return fail(failure)
        } catch {
            return fail(CLIFailure(code: .failure, lines: ["error: \(error)"]))
        }
    }

    package static func fail(_ failure: CLIFailure) -> Int32 {
        for line in failure.lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        return failure.code.rawValue
    }
}
