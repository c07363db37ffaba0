import Foundation

/// What of the change log may be read as settled, pure. Versions are taken at commit, so they are
/// nearly in commit order, not exactly: a version missing below a present one belongs to a commit
/// still in flight (milliseconds) or to one that failed (never). Readers deliver in version order
/// and stop at such a gap until the change after it is `settle` old; then the gap is given up.
/// Used by the watches (`KubeWatches`) and by lists, whose resourceVersion is the settled mark.
package enum KubeChangeOrder {
    package struct Row: Equatable {
        package var rv: Int
        /// Seconds since the change's commit wrote it.
        package var age: Double

        package init(rv: Int, age: Double) {
            self.rv = rv
            self.age = age
        }
    }

    /// How many of `rows` (ascending, all after `position`) can be read now, and whether reading
    /// stopped at an unsettled gap (then read again soon).
    package static func readable(after position: Int, _ rows: [Row], settle: Double) -> (count: Int, blocked: Bool) {
        var expected = position + 1
        for (index, row) in rows.enumerated() {
            if row.rv != expected, row.age < settle { return (index, true) }
            expected = row.rv + 1
        }
        return (rows.count, false)
    }

    /// The newest version at or below which every change is present or given up: a watch from it
    /// misses nothing. `base` is a version known settled; `rows` are the changes after it.
    package static func settledMark(base: Int, _ rows: [Row], settle: Double) -> Int {
        let (count, _) = readable(after: base, rows, settle: settle)
        return count == 0 ? base : rows[count - 1].rv
    }
}
