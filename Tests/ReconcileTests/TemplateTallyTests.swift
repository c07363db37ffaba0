import Testing
@testable import Reconcile

/// The templates' counts kept agent by agent: an agent counted once, moved between templates,
/// synced and not, and taken out, leaves each template's counts as a recount would give them.
@Suite struct TemplateTallyTests {
    @Test func partsSetAgainMovedAndRemovedLeaveTheCountsOfARecount() {
        var tally = TemplateTally()
        tally.set("a", ("concierge", true))
        tally.set("b", ("concierge", false))
        tally.set("c", ("helper", true))
        #expect(tally.counts["concierge"]! == (2, 1) && tally.counts["helper"]! == (1, 1))
        // Seen again: counted once.
        tally.set("a", ("concierge", true))
        #expect(tally.counts["concierge"]! == (2, 1))
        // Synced now; then moved to another template, whose name is returned as changed too.
        tally.set("b", ("concierge", true))
        #expect(tally.counts["concierge"]! == (2, 2))
        #expect(tally.set("b", ("helper", false)) == "concierge")
        #expect(tally.counts["concierge"]! == (1, 1) && tally.counts["helper"]! == (2, 1))
        // Gone or deleted: out; a template with no agent left has no counts.
        #expect(tally.set("a", nil) == "concierge")
        #expect(tally.counts["concierge"] == nil)
        tally.reset()
        #expect(tally.counts.isEmpty)
    }
}
