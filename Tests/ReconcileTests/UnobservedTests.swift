import Foundation
import Testing
import Resources
import Services
import Store
@testable import Reconcile

/// `FleetCache` keeps one view per instance and finds the row it had as that view without the
/// batch's word (`unobserved`): the row back, whatever the batch said, or a change would be missed
/// (a row field lost) or seen where there is none (every instance asked again at a whole read).
@Suite struct UnobservedTests {
    static let row = InstanceView(id: "inst000001", pool: "default", state: .claimed, digest: "sha256:a", url: "https://one.up.railway.app",
                                  agent: "alice", createdAt: Date(timeIntervalSince1970: 1_000), setup: .missing, health: nil, deployStatus: nil,
                                  tools: [:], envPending: false, conversationId: "c1", inviteUrl: "https://convos/i/1", joined: true)

    static var said: InstanceStatus {
        let tool = try! JSONDecoder().decode(ToolStatus.self, from: Data("""
            {"state": "ready", "resourceId": "k1", "provisioning": "pool", "delivered": true, "config": {"a": "b"}}
            """.utf8))
        var s = InstanceStatus(state: .healthy, setup: .created, deployStatus: .success, url: "https://batch.up.railway.app",
                               tools: ["openrouter": tool], envPending: true)
        s.deployedAt = Date(timeIntervalSince1970: 2_000)
        s.quotaWaitUntil = Date(timeIntervalSince1970: 3_000)
        s.lastError = "quota"
        s.variablesUnchecked = true
        s.runtimeVersion = "1.2.3"
        s.runtimeType = "openclaw"
        return s
    }

    @Test func aViewWithoutTheBatchsWordIsItsRow() {
        let health = StatusWriter.Health(instance: "inst000001", health: "healthy", version: "1.2.2", runtime: "openclaw")
        for status in [Self.said, nil] {
            let view = FleetCache.observe(Self.row, status, storedHealth: health)
            #expect(FleetCache.unobserved(view, rowHasURL: true) == Self.row)
        }
    }

    /// A row without a URL (being created) takes the batch's: the row is found without it again.
    @Test func theBatchsURLIsNotTakenForTheRows() {
        var row = Self.row
        row.url = nil
        let view = FleetCache.observe(row, Self.said, storedHealth: nil)
        #expect(view.url == "https://batch.up.railway.app")
        #expect(FleetCache.unobserved(view, rowHasURL: false) == row)
    }
}
