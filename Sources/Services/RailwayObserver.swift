import Foundation
import Providers
import Resources

/// How the status batch observes Railway: what controllers do with watches. Deployment events
/// (webhooks) are hints; Railway is polled only for instances in transition; the whole fleet is
/// listed once every `resyncInterval`, so a lost event or a change behind our back is still seen.
public struct ObserveSettings: Sendable {
    /// `RESYNC_INTERVAL`: the whole fleet is listed this often.
    public var resyncInterval: TimeInterval = 600
    /// Webhooks are registered (`PUBLIC_URL` set): a transition is polled when an event says so,
    /// and otherwise only every `hintedFallback`.
    public var webhooks = false
    /// The shortest time between two polls of one instance in transition.
    public var minPollInterval: TimeInterval = 5
    /// With webhooks, an instance in transition not heard of is polled this often anyway.
    public var hintedFallback: TimeInterval = 60
    /// The share of the Railway quota the observing may spend; the rest is for creating.
    public var quotaShare = 0.5
    /// With webhooks, the listing is the net under lost events, not the way changes are seen: it
    /// takes at most this many pages (100 projects each) an hour, so a large fleet is listed less
    /// often than `resyncInterval` (50,000 instances: every 50 minutes). 600 is 60% of an hour of
    /// Railway's Hobby quota, the smallest a workspace that runs a fleet has.
    public var webhookListingPagesPerHour = 600.0
    public init() {}

    /// How often a fleet of this many instances is listed: `resyncInterval`, or longer with
    /// webhooks when the listing would take more than its pages an hour.
    public func resyncInterval(fleet: Int) -> TimeInterval {
        guard webhooks else { return resyncInterval }
        let pages = Double((fleet + 99) / 100)
        return max(resyncInterval, pages * 3600 / webhookListingPagesPerHour)
    }
}

/// One batch's decision: list the fleet, or poll these instances one by one.
package struct ObservePlan: Equatable {
    package var resync: Bool
    package var poll: [String]
    /// The time between polls of one instance in transition, as the quota allows it now.
    package var pollInterval: TimeInterval
}

/// What one look at Railway saw: the deployment statuses it read (`basis`: those stored when it
/// began), and whether it listed the whole fleet.
package struct RailwayLook: Sendable {
    package var basis: [String: DeployStatus]
    package var seen: [String: DeployStatus]
    package var resynced: Bool
    package var strays: [String]
    package static let none = RailwayLook(basis: [:], seen: [:], resynced: false, strays: [])

    /// The statuses to record now, given those stored now: what it saw differ, unless the stored one
    /// changed while it looked (a newer word, a health ping's, wins over an older look).
    package func changes(against stored: [String: DeployStatus]) -> [String: DeployStatus] {
        seen.filter { id, status in stored[id] != status && stored[id] == basis[id] }
    }
}

/// The observing's memory: when the fleet was last listed, when each instance was last polled,
/// which ones an event named. Called by the status batch only (the leader's tick); the webhook
/// route adds hints.
///
/// It also runs the looks themselves beside the ticks: a batch takes the last look that finished
/// and starts the next, so no tick waits on Railway (a poll is 300 ms, a fleet listing of 10,000
/// a hundred pages). What a look saw reaches the planner one tick later, against deploys of 25 s.
package actor RailwayObserver {
    package let settings: ObserveSettings
    /// The look under way, owned here and awaited by `shutdown`.
    private var looking: Task<Void, Never>?
    private var finished: RailwayLook?
    private var stopped = false
    private var lastResync: Date?
    private var lastPolled: [String: Date] = [:]
    private var hinted: Set<String> = []
    package private(set) var orphans: [String] = []
    /// What `/status` shows of the observing.
    package struct Report: Sendable, Encodable {
        package var mode: String
        package var lastResync: Date?
        package var resyncIntervalSeconds: Double
        package var pollIntervalSeconds: Double
        package var inTransition: Int
    }
    package private(set) var report: Report

    package init(settings: ObserveSettings) {
        self.settings = settings
        self.report = Report(mode: settings.webhooks ? "webhooks" : "polling", lastResync: nil,
                             resyncIntervalSeconds: settings.resyncInterval, pollIntervalSeconds: settings.minPollInterval, inTransition: 0)
    }

    /// An event named this instance: poll it at the next batch.
    package func hint(_ instanceID: String) { hinted.insert(instanceID) }

    /// Which instances to look at now. `transitioning` are those whose deployment is under way;
    /// `fleet` is every instance with a project; `quota` is what Railway's tokens have left.
    package func plan(transitioning: [String], fleet: Int, quota: [QuotaGate.Snapshot], now: Date) -> ObservePlan {
        // A batch names part of the fleet (what changed): the last listing says how large it is.
        let fleet = max(fleet, listed)
        // With webhooks, an instance starts its fallback clock when first seen in transition.
        if settings.webhooks { for id in transitioning where lastPolled[id] == nil { lastPolled[id] = now } }
        let plan = Self.plan(transitioning: transitioning, fleet: fleet, quota: quota, now: now, lastResync: lastResync,
                             lastPolled: lastPolled, hinted: hinted, settings: settings)
        report.pollIntervalSeconds = plan.pollInterval
        report.resyncIntervalSeconds = settings.resyncInterval(fleet: fleet)
        report.inTransition = transitioning.count
        return plan
    }

    package func polled(_ ids: [String], now: Date) {
        for id in ids { lastPolled[id] = now; hinted.remove(id) }
    }

    /// A resync's listing is under way (tests wait for one).
    package private(set) var resyncing = false
    package func setResyncing(_ on: Bool) { resyncing = on }

    /// Instances whose name the last resync saw on two projects.
    private var twice: Set<String> = []
    /// Projects the last listing held: the fleet's size, for the listing's own pace.
    private var listed = 0

    /// Whether removing an instance's strays must list the workspace: its name was seen on two
    /// projects, or no resync has run in this process to say it was not.
    package func namedTwice(_ instanceID: String) -> Bool { lastResync == nil || twice.contains(instanceID) }

    package func resynced(orphans: [String], namedTwice: Set<String> = [], listed: Int = 0, now: Date) {
        resyncing = false
        self.listed = listed
        lastResync = now
        self.orphans = orphans
        twice = namedTwice
        hinted = []
        report.lastResync = now
    }

    /// The last look that finished, taken (nil when none has since the last take), and the next
    /// one started unless one is under way.
    package func take(startingNext look: @escaping @Sendable () async -> RailwayLook) -> RailwayLook? {
        let done = finished
        finished = nil
        if looking == nil && !stopped {
            looking = Task { [weak self] in
                let result = await look()
                await self?.finish(result)
            }
        }
        return done
    }

    private func finish(_ look: RailwayLook) {
        finished = look
        looking = nil
    }

    /// Waits for the look under way, if any (tests: what Railway says now, not a tick ago).
    package func lookFinished() async { await looking?.value }

    /// Stops the look under way (its listing sends no more pages) and waits for it; none starts
    /// after. A resync of 50,000 is 500 pages: a shutdown must not wait for them.
    package func shutdown() async {
        stopped = true
        looking?.cancel()
        await looking?.value
    }

    /// Forgets instances no longer asked about.
    package func retain(_ ids: Set<String>) {
        lastPolled = lastPolled.filter { ids.contains($0.key) }
        hinted = hinted.filter { ids.contains($0) }
    }

    /// The policy, pure. Without webhooks the poll interval grows with the number of instances in
    /// transition so that polling spends at most `quotaShare` of the quota left until its reset
    /// (or of the hourly limit), never less than `minPollInterval`.
    package static func plan(transitioning: [String], fleet: Int, quota: [QuotaGate.Snapshot], now: Date, lastResync: Date?,
                     lastPolled: [String: Date], hinted: Set<String>, settings: ObserveSettings) -> ObservePlan {
        let resyncInterval = settings.resyncInterval(fleet: fleet)
        let resync = lastResync.map { now.timeIntervalSince($0) >= resyncInterval } ?? true
        // Requests an hour the observing may spend, after the resync's own pages.
        let resyncPerHour = Double((fleet + 99) / 100) * 3600 / resyncInterval
        var perHour = 0.0
        for q in quota {
            if let remaining = q.remaining, let reset = q.resetAt, reset > now {
                perHour += Double(remaining) * 3600 / max(60, reset.timeIntervalSince(now))
            } else {
                perHour += Double(q.limit ?? 10_000)
            }
        }
        let budget = max(1, perHour * settings.quotaShare - resyncPerHour)
        var interval = max(settings.minPollInterval, Double(transitioning.count) * 3600 / budget)
        if settings.webhooks { interval = max(interval, settings.hintedFallback) }
        if resync { return ObservePlan(resync: true, poll: [], pollInterval: interval) }
        let poll = transitioning.filter { id in
            hinted.contains(id) || lastPolled[id].map { now.timeIntervalSince($0) >= interval } ?? !settings.webhooks
        }
        // Hints about stable instances (a crash of a running one) are polled too.
        let extra = hinted.subtracting(transitioning).sorted()
        return ObservePlan(resync: false, poll: poll + extra, pollInterval: interval)
    }
}
