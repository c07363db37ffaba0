import Foundation

/// Parsed `-f PATH`, `-o FORMAT`, `--flag` and positional arguments.
package struct Arguments {
    package var positional: [String] = []
    package var values: [String: String] = [:]
    /// Every value of an option given more than once (`--user-config a=1 --user-config b=2`).
    package var all: [String: [String]] = [:]
    package var flags: Set<String> = []

    package init(_ args: [String], valued: Set<String>, flags allowed: Set<String>) throws {
        var i = 0
        while i < args.count {
            let arg = args[i]
            if valued.contains(arg) {
                guard i + 1 < args.count else { throw CLIFailure.usage("error: \(arg) needs a value") }
                values[arg] = args[i + 1]
                all[arg, default: []].append(args[i + 1])
                i += 2
            } else if allowed.contains(arg) {
                flags.insert(arg)
                i += 1
            } else if arg.hasPrefix("-") && arg != "-" {
                throw CLIFailure.usage("error: unknown option \(arg)")
            } else {
                positional.append(arg)
                i += 1
            }
        }
    }
}
