import Foundation
import Testing
import Resources

/// What few instances set is kept behind one reference (`InstanceFields.Rare`): set and cleared
/// again, an instance is the one that never had it, and copies never share a change.
@Suite struct InstanceFieldsTests {
    static let plain = InstanceView(id: "i1", pool: "default", state: .claimed, digest: "sha256:a", url: "http://x/i1", agent: "a1",
                                    createdAt: Date(timeIntervalSince1970: 1_800_000_000))

    @Test func anUpgradeSetAndClearedLeavesTheInstanceAsItWas() {
        var upgraded = Self.plain
        upgraded.upgradePhase = .upgrading
        upgraded.upgradeTo = "sha256:b"
        upgraded.upgradeRequested = true
        #expect(upgraded != Self.plain && upgraded.upgradeTo == "sha256:b" && upgraded.upgradeRequested)
        upgraded.upgradePhase = nil
        upgraded.upgradeTo = nil
        upgraded.upgradeRequested = false
        #expect(upgraded == Self.plain)
    }

    @Test func aCopyNeverSharesAChange() {
        var a = Self.plain
        a.lastError = "quota"
        var b = a
        b.lastError = "another"
        b.acceptance = .tainted
        #expect(a.lastError == "quota" && a.acceptance == nil)
        #expect(b.lastError == "another" && b.acceptance == .tainted)
    }

    /// The inline part stays small: 50,000 of them are held for a term (490 bytes with every field inline, 328 now).
    @Test func theInlineFieldsStaySmall() {
        #expect(MemoryLayout<InstanceFields>.size <= 336, "\(MemoryLayout<InstanceFields>.size) bytes")
    }
}
