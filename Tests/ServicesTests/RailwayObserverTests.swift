import Foundation
import Testing
import AppTestSupport
import Services
@testable import Providers

/// The observing policy, pure: what each status batch asks Railway.
@Suite struct RailwayObserverTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func plan(_ transitioning: [String], fleet: Int = 1000, quota: [QuotaGate.Snapshot] = [QuotaGate.Snapshot()], lastResync: TimeInterval? = 10,
              polled: [String: TimeInterval] = [:], hinted: Set<String> = [], webhooks: Bool = false) -> ObservePlan {
        var settings = ObserveSettings()
        settings.webhooks = webhooks
        return RailwayObserver.plan(transitioning: transitioning, fleet: fleet, quota: quota, now: now,
                                    lastResync: lastResync.map { now - $0 }, lastPolled: polled.mapValues { now - $0 },
                                    hinted: hinted, settings: settings)
    }

    @Test func firstBatchAndEveryResyncIntervalListTheFleet() {
        #expect(plan([], lastResync: nil).resync)
        #expect(plan([], lastResync: 599).resync == false)
        #expect(plan([], lastResync: 600).resync)
    }

    @Test func withoutWebhooksOnlyTransitionsArePolledAtTheirInterval() {
        let p = plan(["a", "b"], polled: ["a": 1, "b": 30])
        #expect(p.poll == ["b"], "a was polled a second ago")
        #expect(p.pollInterval == 5)
        #expect(plan(["new"]).poll == ["new"], "never polled: now")
    }

    @Test func pollingSlowsToStayWithinTheQuotaLeft() {
        // 1,000 transitions, 10,000 an hour: half is 5,000, minus the resync's 60: about 729 s each.
        let p = plan((0..<1000).map { "i\($0)" }, fleet: 1000)
        #expect(p.pollInterval > 700 && p.pollInterval < 760)
        // 100 left until a reset an hour away: the interval grows past the hour.
        var low = QuotaGate.Snapshot()
        low.remaining = 100
        low.resetAt = now + 3600
        #expect(plan((0..<100).map { "i\($0)" }, quota: [low]).pollInterval > 3600)
        // Two tokens: twice the budget.
        #expect(plan((0..<1000).map { "i\($0)" }, quota: [.init(), .init()]).pollInterval < 400)
    }

    /// With webhooks the listing is a net under lost events: at most 600 pages an hour, so 50,000
    /// instances (500 pages) are listed every 50 minutes, not every 10; a small fleet still every 10,
    /// and without webhooks (the listing is how changes are seen) the interval holds at any size.
    @Test func withWebhooksALargeFleetIsListedWithinItsPagesAnHour() {
        #expect(plan([], fleet: 50_000, lastResync: 2999, webhooks: true).resync == false)
        #expect(plan([], fleet: 50_000, lastResync: 3000, webhooks: true).resync)
        #expect(plan([], fleet: 5_000, lastResync: 600, webhooks: true).resync)
        #expect(plan([], fleet: 50_000, lastResync: 600).resync, "polling: every RESYNC_INTERVAL")
        var settings = ObserveSettings()
        settings.webhooks = true
        #expect(settings.resyncInterval(fleet: 50_000) == 3000)
        #expect(settings.resyncInterval(fleet: 1_000) == 600)
    }

    /// A batch names only what changed (none, in a quiet tick): the fleet's size for the listing's
    /// pace is what the last listing held.
    @Test func theListingsPaceCountsTheFleetTheLastListingHeld() async {
        var settings = ObserveSettings()
        settings.webhooks = true
        let observer = RailwayObserver(settings: settings)
        await observer.resynced(orphans: [], listed: 50_000, now: now)
        #expect(await observer.plan(transitioning: [], fleet: 0, quota: [QuotaGate.Snapshot()], now: now + 601).resync == false)
        #expect(await observer.report.resyncIntervalSeconds == 3000)
        #expect(await observer.plan(transitioning: [], fleet: 0, quota: [QuotaGate.Snapshot()], now: now + 3000).resync)
    }

    @Test func withWebhooksTransitionsWaitForTheirEventOrTheFallback() {
        let p = plan(["a", "b", "c"], polled: ["a": 5, "b": 61, "c": 5], hinted: ["c", "steady"], webhooks: true)
        #expect(p.poll == ["b", "c", "steady"], "b by fallback, c and a steady instance by their events")
        #expect(p.pollInterval == 60)
    }
}
