import Foundation
import Sync

/// The pool of Railway workspace tokens (`RAILWAY_API_TOKENS`) and the pace of creation on each.
///
/// Railway limits `projectCreate` to about one per 30 s per token ("Only one project can be
/// created per user...") and `volumeCreate` too ("You are creating volumes too quickly"), and
/// every token has an hourly quota (`X-RateLimit-*`, 429 with `Retry-After`). Each token has a
/// `QuotaGate` and the next time it may create a project or a volume. The pace is learned from
/// the provider's own error, its number read ("...every 30 seconds": a plan with another pace is
/// created at that pace, `projectInterval` only when the words give none): once a token was told,
/// each project create reserves it for that pace at once (two creates never race on one token, and the error is not met
/// again). When no token is free, the caller gets `.paced` or `.rateLimited` with the wait,
/// without a request, and defers. Other calls take the token with the most quota left. Any token
/// can act on any project of the workspace.
///
/// Called by `RailwayClient.call`; shown (never the token values) by `/status` and `/metrics`.
public final class RailwayTokens: Sendable {
    /// What a call needs: which token, and its gate.
    public struct Lease: Sendable {
        public let index: Int
        let value: String
        let gate: QuotaGate
    }

    public enum Purpose: Sendable { case projectCreate, volumeCreate, other }

    /// One token's state, for `/status` (index only: the value is a secret).
    public struct Snapshot: Sendable, Codable, Equatable {
        public var index: Int
        public var quota: QuotaGate.Snapshot
        public var nextProjectCreate: Date?
        public var nextVolumeCreate: Date?
    }

    /// `creating`: a project create is in flight on the token. Before the pace is learned it keeps
    /// a concurrent create off the token, so a first wave spreads over the pool instead of teaching
    /// one token its pace with many refused requests. `unpaced`: two creates on the token succeeded
    /// within `projectInterval`, so it has no such limit (a plan without it, a fake): holding it
    /// would only serialize its creates (a prefill of 1,000 on one token took twice as long).
    private struct Pace {
        var nextProject: Date?
        var nextVolume: Date?
        var projectLimitSeen = false
        var creating = false
        var lastProjectCreated: Date?
        var unpaced = false
        /// The pace Railway's own words gave for this token, when they gave one.
        var interval: TimeInterval?
    }

    /// Held on top of the pace Railway states, so a create never lands a hair early.
    static let paceMargin: TimeInterval = 0.5

    let values: [String]
    let gates: [QuotaGate]
    private let paces: Locked<[Pace]>
    private let now: @Sendable () -> Date
    /// The documented pace of `projectCreate` per token; a limit error also waits this long.
    let projectInterval: TimeInterval
    /// `volumeCreate` has no documented pace: only its error makes the token wait this long.
    let volumeInterval: TimeInterval

    public init(_ tokens: [String], projectInterval: Duration = .seconds(31), volumeInterval: Duration = .seconds(10),
                now: @escaping @Sendable () -> Date = { SystemClock().now }) {
        self.values = tokens
        self.gates = tokens.map { _ in QuotaGate(now: now) }
        // A pool set up without a project pace (a fake, a plan without the limit) never holds a token.
        self.paces = Locked(tokens.map { _ in Pace(unpaced: projectInterval == .zero) })
        self.now = now
        self.projectInterval = Self.seconds(projectInterval)
        self.volumeInterval = Self.seconds(volumeInterval)
    }

    public var count: Int { values.count }

    /// A token for a call of `purpose`, or the wait until one is free.
    func take(_ purpose: Purpose) -> Result<Lease, ProviderError> {
        let t = now()
        return paces.withLock { paces in
            var best: (index: Int, remaining: Int)?
            var soonest: Date?
            for i in values.indices {
                var free = gates[i].snapshot.blockedUntil.map { $0 <= t } ?? true
                if !free { soonest = min(soonest ?? .distantFuture, gates[i].snapshot.blockedUntil!) }
                let next = purpose == .projectCreate ? paces[i].nextProject : purpose == .volumeCreate ? paces[i].nextVolume : nil
                if let next, next > t { free = false; soonest = min(soonest ?? .distantFuture, next) }
                if purpose == .projectCreate, paces[i].creating, !paces[i].unpaced { free = false; soonest = min(soonest ?? .distantFuture, t.addingTimeInterval(1)) }
                guard free else { continue }
                let remaining = gates[i].snapshot.remaining ?? Int.max
                if best == nil || remaining > best!.remaining { best = (i, remaining) }
            }
            guard let best else {
                let wait = max(0.001, (soonest ?? t.addingTimeInterval(1)).timeIntervalSince(t))
                let (kind, what): (ProviderError.Kind, String) = purpose == .other ? (.rateLimited, "every Railway token is out of quota")
                    : (.paced, "every Railway token waits for its creation pace")
                return .failure(ProviderError(kind, provider: "railway", message: what, retryAfter: .milliseconds(Int64(wait * 1000))))
            }
            // Reserved now, so a concurrent create picks another token.
            switch purpose {
            case .projectCreate where paces[best.index].projectLimitSeen:
                paces[best.index].nextProject = t.addingTimeInterval(paces[best.index].interval ?? projectInterval)
                paces[best.index].creating = true
            case .projectCreate: paces[best.index].creating = true
            case .volumeCreate: break
            case .other: break
            }
            return .success(Lease(index: best.index, value: values[best.index], gate: gates[best.index]))
        }
    }

    /// The provider said this token creates too quickly: it waits before creating again, for the
    /// pace its words stated (`retryAfter`) or, without one, `projectInterval`.
    func paced(_ lease: Lease, _ purpose: Purpose, retryAfter: Duration?) {
        let t = now()
        paces.withLock { paces in
            switch purpose {
            case .projectCreate:
                paces[lease.index].projectLimitSeen = true
                paces[lease.index].unpaced = false
                if let stated = retryAfter.map(Self.seconds) { paces[lease.index].interval = stated + Self.paceMargin }
                paces[lease.index].nextProject = t.addingTimeInterval(paces[lease.index].interval ?? projectInterval)
            case .volumeCreate:
                paces[lease.index].nextVolume = t.addingTimeInterval(max(volumeInterval, retryAfter.map(Self.seconds) ?? 0))
            case .other: break
            }
        }
    }

    /// A create on this token succeeded. A second project within the interval, never refused,
    /// shows the token has no creation pace.
    func created(_ lease: Lease, _ purpose: Purpose) {
        guard purpose == .projectCreate else { return }
        let t = now()
        paces.withLock { paces in
            if !paces[lease.index].projectLimitSeen, let last = paces[lease.index].lastProjectCreated,
               t.timeIntervalSince(last) < paces[lease.index].interval ?? projectInterval {
                paces[lease.index].unpaced = true
            }
            paces[lease.index].lastProjectCreated = t
        }
    }

    /// A project create on this token has its answer (whatever it was).
    func finished(_ lease: Lease, _ purpose: Purpose) {
        guard purpose == .projectCreate else { return }
        paces.withLock { $0[lease.index].creating = false }
    }

    public var snapshot: [Snapshot] {
        let p = paces.withLock { $0 }
        return values.indices.map { Snapshot(index: $0, quota: gates[$0].snapshot, nextProjectCreate: p[$0].nextProject, nextVolumeCreate: p[$0].nextVolume) }
    }

    static func seconds(_ d: Duration) -> TimeInterval { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
