import Foundation
import Providers

/// Which runtimes said ready, and when, and what each last said it runs. The status batch pings a
/// runtime again only when it has not said ready within `ttl`: those in transition (starting,
/// restarting, failing) every time, the steady fleet once a `ttl`. A ready runtime that dies is
/// still seen: its deploy status changes, and its next ping, at most `ttl` later, says so.
package actor HealthCache {
    package let ttl: TimeInterval
    private var ready: [String: Date] = [:]
    /// The version and harness each runtime's `/pool/health` last named.
    private var identity: [String: (version: String?, runtime: String?)] = [:]

    package init(ttl: TimeInterval) { self.ttl = ttl }

    /// The ids of `ids` that said ready within `ttl` of `now`.
    package func fresh(_ ids: [String], now: Date) -> Set<String> {
        Set(ids.filter { ready[$0].map { now.timeIntervalSince($0) < ttl } ?? false })
    }

    /// Records the answers of one round of pings; a runtime not ready is forgotten as ready, its
    /// version kept until it names another.
    package func record(_ answers: [String: RuntimeHealth?], now: Date) {
        for (id, answer) in answers {
            ready[id] = answer?.ready == true ? now : nil
            if let answer, answer.version != nil || answer.runtime != nil { identity[id] = (answer.version, answer.runtime) }
        }
    }

    /// What each runtime of `ids` last said it runs, in one call (the status batch asks for the fleet).
    package func identities(_ ids: [String]) -> [String: (version: String?, runtime: String?)] {
        var found: [String: (version: String?, runtime: String?)] = [:]
        for id in ids { if let said = identity[id] { found[id] = said } }
        return found
    }

    /// A runtime just answered a call of ours (its `/pool/provision`): it is ready, as a ping would
    /// have said, so the batch after a burst of claims does not ping each one again.
    package func answered(_ id: String, now: Date) { ready[id] = now }

    /// Forgets a runtime that is about to restart or go.
    package func forget(_ id: String) { ready[id] = nil }

    /// Keeps only the ids still asked about, so the cache never outgrows the fleet.
    package func retain(_ ids: Set<String>) {
        ready = ready.filter { ids.contains($0.key) }
        identity = identity.filter { ids.contains($0.key) }
    }
}
