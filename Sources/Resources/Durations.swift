import Foundation

/// Durations as people write them in settings and flags: `500ms`, `5s`, `15m`, `1h`, or plain seconds.
public enum Durations {
    /// The duration, or nil when the text is none of those forms.
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let n = Double(text.dropLast(suffix.count)) else { return nil }
            return .milliseconds(Int64(n * scale * 1000))
        }
        return Double(text).map { .milliseconds(Int64($0 * 1000)) }
    }
}
