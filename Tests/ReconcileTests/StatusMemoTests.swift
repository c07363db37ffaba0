import Foundation
import Testing
import Resources
import Store
@testable import Reconcile

/// The leader remembers each agent's status as a `StatusMemo`, not whole: the statuses built from
/// the memo must be the ones built from the whole status, and the memo must tell a changed status
/// from the same one, or a tick would write what did not change or miss what did.
@Suite struct StatusMemoTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let agent = AgentView(name: "a1", spec: AgentSpec(owner: "u1"), deleting: false, createdAt: start - 600)

    /// What happens to the agent's instance between two ticks.
    enum Step: CaseIterable {
        case unbound, freshInstance, lost, upgrading, rollingBack, templatePushed, unconfigured, tainted
    }

    static func apply(_ step: Step, to instance: InstanceView?, n: Int) -> InstanceView? {
        let fresh = InstanceView(id: "c\(n)", pool: "default", state: .claimed, digest: "sha256:a", url: "http://x/c\(n)", agent: "a1",
                                 createdAt: start, conversationId: "conv-\(n)", inviteUrl: "https://convos.org/v2?i=\(n)", templateGeneration: 1)
        var i = instance ?? fresh
        switch step {
        case .unbound: return nil
        case .freshInstance: return fresh
        case .lost: i.deployStatus = .missing; i.health = .deployFailed
        case .upgrading: i.upgradePhase = .upgrading; i.upgradeTo = "sha256:b"
        case .rollingBack: i.upgradePhase = .rollingBack; i.upgradeError = "not healthy"
        case .templatePushed: i.templateGeneration = (i.templateGeneration ?? 0) + 1
        case .unconfigured: i.conversationId = nil; i.inviteUrl = nil
        case .tainted: i.acceptance = .tainted; i.acceptanceMessage = "another conversation"
        }
        return i
    }

    /// Every sequence of four steps (4,096 of them): the chain built from memos equals the chain
    /// built from whole statuses, and the memo of each status knows the next for the same or not.
    @Test func theStatusBuiltFromAMemoIsTheOneBuiltFromTheWhole() {
        let steps = Step.allCases
        var changes = 0, unchanged = 0
        for code in 0..<(steps.count * steps.count * steps.count * steps.count) {
            var instance: InstanceView? = Self.apply(.freshInstance, to: nil, n: 0)
            var whole = StatusBuilder.agent(Self.agent, generation: 1, previous: nil, instance: instance, templates: [:], now: Self.start)
            var fromMemo = whole
            var rest = code
            for n in 1...4 {
                instance = Self.apply(steps[rest % steps.count], to: instance, n: n)
                rest /= steps.count
                let now = Self.start + Double(n)
                let next = StatusBuilder.agent(Self.agent, generation: 1, previous: whole, instance: instance, templates: [:], now: now)
                fromMemo = StatusBuilder.agent(Self.agent, generation: 1, previous: StatusMemo(fromMemo).previous, instance: instance,
                                               templates: [:], now: now)
                #expect(fromMemo == next, "sequence \(code), step \(n)")
                #expect(StatusMemo(whole).same(as: next) == (whole == next), "sequence \(code), step \(n)")
                if whole == next { unchanged += 1 } else { changes += 1 }
                whole = next
            }
        }
        // Both kinds were compared.
        #expect(changes > 1_000 && unchanged > 1_000)
    }

    /// The phase counted for `/status` is the status's.
    @Test func theMemoKeepsThePhase() {
        let status = StatusBuilder.agent(Self.agent, generation: 1, previous: nil, instance: Self.apply(.freshInstance, to: nil, n: 0),
                                         templates: [:], now: Self.start)
        #expect(StatusMemo(status).phase == status.phase)
    }
}
