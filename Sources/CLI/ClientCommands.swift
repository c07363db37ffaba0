import Foundation
import Resources
import YAML

/// `apply`, `diff`, `get` and `delete`: thin clients of the HTTP API.
package enum ClientCommands {
    package static func apply(_ args: [String], client: ControllerClient) async throws {
        let a = try Arguments(args, valued: ["-f"], flags: ["--dry-run"])
        guard let path = a.values["-f"], a.positional.isEmpty else { throw CLIFailure.usage("usage: convos-controller apply -f PATH|- [--dry-run]") }
        let files = try ManifestFiles.read(path)
        let dryRun = a.flags.contains("--dry-run")
        let response: ControllerClient.Response
        do {
            response = try await client.send("POST", "/v1/apply" + (dryRun ? "?dryRun=true" : ""),
                                             body: Data(files.text.utf8), contentType: "application/yaml")
        } catch let failure as CLIFailure {
            throw CLIFailure(code: failure.code, lines: files.relocate(failure.lines))
        }
        for result in (response.json["results"] as? [[String: Any]]) ?? [] {
            let kind = (result["kind"] as? String)?.lowercased() ?? "?"
            print("\(kind)/\(result["name"] as? String ?? "?") \(result["action"] as? String ?? "?")\(dryRun ? " (dry run)" : "")")
        }
        // What the reconciler would do about it, kubectl-diff style: one line an action.
        if let planned = response.json["plannedActions"] as? [[String: Any]] {
            print(planned.isEmpty ? "planned: nothing" : "planned:")
            for p in planned {
                print("  \(p["action"] as? String ?? "?") \(p["target"] as? String ?? "?")\((p["detail"] as? String).map { " (\($0))" } ?? "")")
            }
        }
    }

    package static func diff(_ args: [String], client: ControllerClient) async throws {
        let a = try Arguments(args, valued: ["-f"], flags: [])
        guard let path = a.values["-f"], a.positional.isEmpty else { throw CLIFailure.usage("usage: convos-controller diff -f PATH") }
        let files = try ManifestFiles.read(path)
        let manifests: [Manifest]
        do {
            manifests = try ManifestDecoder.decode(yaml: files.text)
        } catch {
            throw CLIFailure(code: .usage, lines: files.relocate(error.errors.map { "error: \($0)" }))
        }
        var changed = false
        for m in manifests {
            let live = try await client.send("GET", "/v1/\(m.kind.plural)/\(m.name)", allow404: true)
            let liveText = live.status == 404 ? "" : comparable(JSONValue(jsonData: live.body))
            let localText = comparable(.object([
                "apiVersion": .string(ResourceKind.apiVersion), "kind": .string(m.kind.rawValue),
                "metadata": .object(["name": .string(m.name), "labels": .object(m.labels.mapValues(JSONValue.string))]),
                "spec": m.spec]))
            if let text = UnifiedDiff.render(old: liveText, new: localText, oldName: "live/\(m.reference)", newName: "local/\(m.reference)") {
                print(text, terminator: "")
                changed = true
            }
        }
        if changed { throw CLIFailure(code: .changes, lines: []) }
    }

    /// The fields apply controls, as YAML: what diff compares.
    package static func comparable(_ object: JSONValue) -> String {
        var labels = object["metadata"]?["labels"] ?? .object([:])
        if case .object(let o) = labels, o.isEmpty { labels = .null }
        var meta: [String: JSONValue] = ["name": object["metadata"]?["name"] ?? .null]
        if labels != .null { meta["labels"] = labels }
        let view = JSONValue.object(["apiVersion": object["apiVersion"] ?? .null, "kind": object["kind"] ?? .null,
                                     "metadata": .object(meta), "spec": object["spec"] ?? .null])
        return YAMLEmitter.emit(view.yamlNode(keyOrder: JSONValue.objectKeyOrder))
    }

    package static func get(_ args: [String], client: ControllerClient) async throws {
        let a = try Arguments(args, valued: ["-o"], flags: ["-w", "--watch"])
        guard (1...2).contains(a.positional.count) else { throw CLIFailure.usage("usage: convos-controller get KIND [NAME] [-o json|yaml] [-w]") }
        let kindArg = a.positional[0].lowercased()
        let plural: String
        if ["instance", "instances"].contains(kindArg) { plural = "instances" }
        else if let kind = ResourceKind(userInput: kindArg) { plural = kind.plural }
        else { throw CLIFailure.usage("error: unknown kind \"\(a.positional[0])\"; expected pools, agenttemplates, agents or instances") }
        let format = a.values["-o"]
        guard format == nil || format == "json" || format == "yaml" else { throw CLIFailure.usage("error: -o takes json or yaml") }
        let name = a.positional.count == 2 ? a.positional[1] : nil
        if a.flags.contains("-w") || a.flags.contains("--watch") {
            guard plural != "instances", format == nil else { throw CLIFailure.usage("error: -w watches pools, agenttemplates or agents, as a table") }
            return try await watch(plural: plural, name: name, client: client)
        }
        let response = try await client.send("GET", "/v1/\(plural)" + (name.map { "/\($0)" } ?? ""), allow404: true)
        if response.status == 404 {
            throw CLIFailure(code: .refused, lines: ControllerClient.errorLines(response))
        }
        let value = JSONValue(jsonData: response.body)
        switch format {
        case "json": print(String(decoding: prettyJSON(value), as: UTF8.self))
        case "yaml":
            let items: [JSONValue]
            if name == nil, case .array(let list)? = value["items"] { items = list } else { items = [value] }
            print(YAMLEmitter.emit(items.map { $0.yamlNode(keyOrder: JSONValue.objectKeyOrder) }), terminator: "")
        default:
            let items: [JSONValue]
            if name == nil, case .array(let list)? = value["items"] { items = list } else { items = [value] }
            print(Table.render(plural: plural, items: items), terminator: "")
        }
    }

    /// `get KIND [NAME] -w`: the table now, then a row for each change as it happens, from the
    /// Kubernetes API's watch (resumed from the last version seen when the server ends it).
    package static func watch(plural: String, name: String?, client: ControllerClient) async throws {
        let base = "/apis/agents.convos.org/v1/\(plural)"
        let selector = name.map { "fieldSelector=metadata.name%3D\($0)" }
        let listed = JSONValue(jsonData: try await client.send("GET", base + (selector.map { "?\($0)" } ?? "")).body)
        var version = listed["metadata"]?["resourceVersion"]?.stringValue ?? "0"
        let items: [JSONValue]
        if case .array(let list)? = listed["items"] { items = list } else { items = [] }
        // Written at once, not buffered: whoever reads the pipe sees each change as it happens.
        FileHandle.standardOutput.write(Data(Table.render(plural: plural, items: items).utf8))
        while true {
            let path = base + "?watch=true&resourceVersion=\(version)" + (selector.map { "&\($0)" } ?? "")
            for try await line in client.lines(path) {
                let event = JSONValue(jsonData: Data(line.utf8))
                guard let object = event["object"] else { continue }
                if event["type"]?.stringValue == "ERROR" {
                    throw CLIFailure(code: .failure, lines: ["error: \(object["message"]?.stringValue ?? "the watch failed")"])
                }
                version = object["metadata"]?["resourceVersion"]?.stringValue ?? version
                // The row without the header line.
                let row = Table.render(plural: plural, items: [object]).split(separator: "\n").dropFirst().joined(separator: "\n")
                FileHandle.standardOutput.write(Data((row + "\n").utf8))
            }
        }
    }

    package static func delete(_ args: [String], client: ControllerClient) async throws {
        let a = try Arguments(args, valued: [], flags: [])
        guard a.positional.count == 2, let kind = ResourceKind(userInput: a.positional[0]) else {
            throw CLIFailure.usage("usage: convos-controller delete KIND NAME (KIND: pool, agenttemplate, agent)")
        }
        let response = try await client.send("DELETE", "/v1/\(kind.plural)/\(a.positional[1])", allow404: true)
        if response.status == 404 { throw CLIFailure(code: .refused, lines: ControllerClient.errorLines(response)) }
        print("\(kind.singular)/\(a.positional[1]) \(response.status == 202 ? "terminating" : "deleted")")
    }

    package static func prettyJSON(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data()
    }
}

extension JSONValue {
    package init(jsonData: Data) {
        self = (try? JSONDecoder().decode(JSONValue.self, from: jsonData)) ?? .null
    }
}
