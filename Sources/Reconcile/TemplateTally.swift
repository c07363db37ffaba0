import Resources

/// Each template's agents, and how many of them run its current configuration, kept agent by agent
/// as the ticks see agents and their instances change: counting all 40,000 agents every few
/// seconds was the slowest quiet tick at 50,000 instances (35 ms). Rebuilt at every whole read,
/// which also corrects a part a change slipped past (an instance removed under its agent).
/// Owned by the reconciler's status writing.
package struct TemplateTally {
    /// An agent's part: the template it counts for, and whether it is synced to it.
    package typealias Part = (template: String, synced: Bool)
    private var parts: [String: Part] = [:]
    private(set) var counts: [String: (agents: Int, synced: Int)] = [:]

    /// Sets `agent`'s part; nil when it counts for no template (none, being deleted, gone).
    /// Returns the template it counted for before, whose counts changed too.
    @discardableResult
    mutating func set(_ agent: String, _ part: Part?) -> String? {
        let old = parts[agent]
        if let old { add(old, -1) }
        parts[agent] = part
        if let part { add(part, 1) }
        return old?.template
    }

    mutating func reset() {
        parts = [:]
        counts = [:]
    }

    private mutating func add(_ part: Part, _ by: Int) {
        var c = counts[part.template] ?? (0, 0)
        c.agents += by
        if part.synced { c.synced += by }
        counts[part.template] = c.agents == 0 ? nil : c
    }
}
