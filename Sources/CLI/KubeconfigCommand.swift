import Foundation

/// `convos-controller kubeconfig [--server URL] [--ca FILE] [--name NAME]`: prints a kubeconfig for
/// this controller, so `kubectl` (and the Python `kubernetes` client) can use it:
/// `convos-controller kubeconfig > ~/.kube/convos && KUBECONFIG=~/.kube/convos kubectl get agents`.
/// The server defaults to `CONTROLLER_URL`, the token to `CONTROLLER_API_TOKEN`, the CA to
/// `TLS_CERT_FILE` (a self-signed certificate is its own CA). The token is printed: it is what
/// the file is for, as `kubectl config view --raw` does.
package enum KubeconfigCommand {
    package static func run(_ args: [String], environment: [String: String]) throws -> String {
        let a = try Arguments(args, valued: ["--server", "--ca", "--name"], flags: [])
        guard a.positional.isEmpty else { throw CLIFailure.usage("usage: convos-controller kubeconfig [--server URL] [--ca FILE] [--name NAME]") }
        let name = a.values["--name"] ?? "convos"
        var server = a.values["--server"] ?? environment["CONTROLLER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        while server.hasSuffix("/") { server.removeLast() }
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? "") else {
            throw CLIFailure.usage("error: the server must be an http or https URL, got \(server)")
        }
        var cluster = "    server: \(server)\n"
        if let ca = a.values["--ca"] ?? environment["TLS_CERT_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let pem = FileManager.default.contents(atPath: ca) else { throw CLIFailure.usage("error: cannot read the CA file \(ca)") }
            cluster += "    certificate-authority-data: \(pem.base64EncodedString())\n"
        }
        var user = "  user: {}\n"
        if let token = environment["CONTROLLER_API_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) {
            if url.scheme == "http" {
                FileHandle.standardError.write(Data("warning: kubectl sends a token only over https; with \(server) it is not sent\n".utf8))
            }
            user = "  user:\n    token: \(token)\n"
        }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: \(name)
              cluster:
            \(cluster)users:
            - name: \(name)
            \(user)contexts:
            - name: \(name)
              context:
                cluster: \(name)
                user: \(name)
            current-context: \(name)

            """
    }
}
