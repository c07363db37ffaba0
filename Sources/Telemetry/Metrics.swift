import Foundation
import Sync

/// Counters, gauges and histograms for `GET /metrics`, rendered in the Prometheus text format.
///
/// Label values are classes and names we choose (routes, kinds, outcomes), never request data or
/// error text, so nothing secret and no unbounded cardinality reaches a scrape.
public final class Metrics: Sendable {
    package struct Histogram {
        package static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        package var counts = [Int](repeating: 0, count: buckets.count)
        package var sum = 0.0
        package var count = 0
        package mutating func observe(_ v: Double) {
            for (i, b) in Self.buckets.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    private struct State {
        package var counters: [String: [String: Double]] = [:]      // name -> labels -> value
        package var histograms: [String: [String: Histogram]] = [:]
    }

    private let state = Locked(State())
    package static let help: [String: (type: String, help: String)] = [
        "convos_http_requests_total": ("counter", "HTTP requests by route, method and status."),
        "convos_http_request_duration_seconds": ("histogram", "HTTP request latency by route."),
        "convos_claims_total": ("counter", "Claims by result: bound at once, or waiting for an instance."),
        "convos_claim_duration_seconds": ("histogram", "Claim latency, request to binding."),
        "convos_claim_invite_seconds": ("histogram", "Claim to invite URL: request until the runtime's conversation is recorded."),
        "convos_reconcile_ticks_total": ("counter", "Reconcile ticks run by this replica."),
        "convos_reconcile_tick_duration_seconds": ("histogram", "Reconcile tick duration."),
        "convos_reconcile_actions_total": ("counter", "Reconcile actions by kind and outcome."),
    ]

    public init() {}

    public func increment(_ name: String, _ labels: [String: String] = [:], by value: Double = 1) {
        let key = Self.labelText(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += value }
    }

    public func observe(_ name: String, _ labels: [String: String] = [:], seconds: Double) {
        let key = Self.labelText(labels)
        state.withLock { $0.histograms[name, default: [:]][key, default: Histogram()].observe(seconds) }
    }

    public static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// The registry's series, then the gauges computed at scrape time.
    public func render(gauges: [Gauge]) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        for name in Set(snapshot.counters.keys).union(Self.help.filter { $0.value.type == "counter" }.keys).sorted() {
            header(&out, name)
            for (labels, value) in (snapshot.counters[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                out += "\(name)\(labels) \(Self.number(value))\n"
            }
        }
        for name in Set(snapshot.histograms.keys).union(Self.help.filter { $0.value.type == "histogram" }.keys).sorted() {
            header(&out, name)
            for (labels, h) in (snapshot.histograms[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let inner = labels.isEmpty ? "" : String(labels.dropFirst().dropLast()) + ","
                for (i, b) in Histogram.buckets.enumerated() { out += "\(name)_bucket{\(inner)le=\"\(b)\"} \(h.counts[i])\n" }
                out += "\(name)_bucket{\(inner)le=\"+Inf\"} \(h.count)\n"
                out += "\(name)_sum\(labels) \(Self.number(h.sum))\n\(name)_count\(labels) \(h.count)\n"
            }
        }
        var seen = Set<String>()
        for g in gauges.sorted(by: { ($0.name, $0.labels.description) < ($1.name, $1.labels.description) }) {
            if seen.insert(g.name).inserted { out += "# HELP \(g.name) \(g.help)\n# TYPE \(g.name) \(g.type)\n" }
            out += "\(g.name)\(Self.labelText(g.labels)) \(Self.number(g.value))\n"
        }
        return out
    }

    /// A value computed at scrape time: a gauge, or a counter kept elsewhere (provider calls).
    public struct Gauge: Sendable {
        public var name: String
        public var help: String
        public var type = "gauge"
        public var labels: [String: String] = [:]
        public var value: Double

        public init(name: String, help: String, type: String = "gauge", labels: [String: String] = [:], value: Double) {
            self.name = name
            self.type = type
            self.help = help
            self.labels = labels
            self.value = value
        }
    }

    private func header(_ out: inout String, _ name: String) {
        let h = Self.help[name] ?? ("counter", name)
        out += "# HELP \(name) \(h.help)\n# TYPE \(name) \(h.type)\n"
    }

    package static func labelText(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let body = labels.sorted { $0.key < $1.key }.map { k, v in "\(k)=\"\(escaped(v))\"" }.joined(separator: ",")
        return "{\(body)}"
    }

    /// Prometheus label escaping. Called on every request, so a value with nothing to escape (all
    /// of ours, nearly) is returned as it is, without a search through Foundation.
    package static func escaped(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else { return value }
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    package static func number(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
