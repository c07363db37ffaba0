import Foundation
import Sync
import Resources

/// Structured logs: one JSON object per line on stdout (`LOG_FORMAT=json`), or `text` for people.
///
/// Lines are written on a serial dispatch queue, so a slow stdout never holds a cooperative thread.
/// Callers pass values that are safe to log; `Redactor` removes configured secrets as a last guard.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warning
            case "error": self = .error
            default: return nil
            }
        }
        package var name: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    public var level: Level
    public var json: Bool
    public var fields: [String: String] = [:]
    package let redactor: Redactor
    private static let queue = DispatchQueue(label: "convos.log")

    public init(level: Level = .info, json: Bool = true, secrets: [String] = []) {
        self.level = level
        self.json = json
        self.redactor = Redactor(secrets: secrets)
    }

    /// A logger whose lines all carry these fields (request id, object kind and name).
    public func with(_ extra: [String: String]) -> Logger {
        var copy = self
        copy.fields.merge(extra) { _, new in new }
        return copy
    }

    public func debug(_ message: String, _ extra: [String: String] = [:]) { log(.debug, message, extra) }
    public func info(_ message: String, _ extra: [String: String] = [:]) { log(.info, message, extra) }
    public func warning(_ message: String, _ extra: [String: String] = [:]) { log(.warning, message, extra) }
    public func error(_ message: String, _ extra: [String: String] = [:]) { log(.error, message, extra) }

    public func log(_ level: Level, _ message: String, _ extra: [String: String]) {
        guard level >= self.level else { return }
        var all = fields.merging(extra) { _, new in new }
        all["msg"] = message
        all["level"] = level.name
        all["time"] = ISO8601.format(SystemClock().now)
        let line = redactor.redact(json ? Self.jsonLine(all) : Self.textLine(all))
        Self.queue.async { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    /// Waits until queued lines are written; for exit paths.
    public static func flush() { queue.sync {} }

    package static func jsonLine(_ fields: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(fields), as: UTF8.self)) ?? "{}"
    }

    package static func textLine(_ fields: [String: String]) -> String {
        let rest = fields.filter { !["time", "level", "msg"].contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(fields["time"] ?? "") \(fields["level"] ?? "") \(fields["msg"] ?? "") \(rest)"
    }
}

/// Replaces every configured secret (tokens, keys, the database password) with `[REDACTED]`.
public struct Redactor: Sendable {
    package let secrets: [String]
    public init(secrets: [String]) { self.secrets = secrets.filter { $0.count >= 4 }.sorted { $0.count > $1.count } }
    public func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "[REDACTED]") }
    }
}

/// Error text safe for status and events: classified provider errors already carry no secrets.
public enum Redacted {
    public static func message(_ error: any Error) -> String { String("\(error)".prefix(300)) }
}
