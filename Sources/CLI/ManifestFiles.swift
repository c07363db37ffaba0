import Foundation

/// The YAML a `-f` argument names: one file, every `*.yaml`/`*.yml` of a folder in name order, or
/// stdin (`-`). Files are joined into one stream; `locate` maps a line of the stream back to its file.
package struct ManifestFiles {
    package struct Part { let name: String; let firstLine: Int; let lines: Int }
    package let text: String
    package let parts: [Part]

    package static func read(_ path: String) throws -> ManifestFiles {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return ManifestFiles(sources: [("stdin", String(decoding: data, as: UTF8.self))])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIFailure.usage("error: \(path): no such file or directory")
        }
        var files = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                .map { (path as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else { throw CLIFailure.usage("error: \(path): no *.yaml files") }
        }
        return ManifestFiles(sources: try files.map { file in
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIFailure.usage("error: \(file): cannot be read as UTF-8 text")
            }
            return (file, text)
        })
    }

    package init(sources: [(String, String)]) {
        var text = ""
        var parts: [Part] = []
        var line = 1
        for (index, (name, content)) in sources.enumerated() {
            if index > 0 { text += "\n---\n"; line += 2 }
            let body = content.hasSuffix("\n") ? String(content.dropLast()) : content
            let count = body.split(separator: "\n", omittingEmptySubsequences: false).count
            parts.append(Part(name: name, firstLine: line, lines: count))
            text += body
            line += count - 1
        }
        self.text = text + "\n"
        self.parts = parts
    }

    /// `specs/03-agents.yaml:7` for line 7 of that file within the joined stream.
    package func locate(_ line: Int) -> String {
        guard let part = parts.last(where: { $0.firstLine <= line }) else { return "line \(line)" }
        return "\(part.name):\(line - part.firstLine + 1)"
    }

    /// Rewrites `(line N)` in error lines to `(file:line)`.
    package func relocate(_ lines: [String]) -> [String] {
        lines.map { line in
            guard let range = line.range(of: #"\(line (\d+)\)"#, options: .regularExpression),
                  let n = Int(line[range].dropFirst(6).dropLast()) else { return line }
            return line.replacingCharacters(in: range, with: "(\(locate(n)))")
        }
    }
}
