import Foundation
import Sync

/// The steady fleet's health, looked at beside the ticks. The reconciler asks the status batch
/// only about instances that changed or are in transition; a ready runtime that dies without
/// Railway saying so (its deploy still `SUCCESS`) is found by this sweep instead: each status batch
/// takes the instances whose last ping disagreed and starts the next step, which pings the next
/// few ready runtimes in id order. Every ready runtime is pinged about once a `period`:
/// `HealthCache.ttl` for a small fleet, longer for a large one so that at most `rate` pings a
/// second go out (50,000 instances at 100 a second: every 500 s).
/// Called by the status batch only; owns its one step in flight (its pings paced at `rate`,
/// so it lasts about a tick), cancelled and awaited by `shutdown`.
package actor HealthSweep {
    package let ttl: TimeInterval
    package let rate: Double
    private var cursor = ""
    private var lastStep: Date?
    /// Ready instances as counted at the pass's start: the period's basis.
    private var fleet = 0
    private var attention: Set<String> = []
    private var running: Task<Void, Never>?
    private var stopped = false

    package init(ttl: TimeInterval, rate: Double) {
        self.ttl = ttl
        self.rate = rate
    }

    /// One step: the ready instances after `after` in id order, at most `limit`; returns the last id
    /// it read (nil: the end was reached), how many it read, those whose ping disagreed, and, at a
    /// pass's start (`after` empty), how many ready instances there are (the pace's basis).
    package typealias Step = @Sendable (_ after: String, _ limit: Int) async -> (last: String?, count: Int, attention: [String], total: Int?)

    /// The instances a step found changed since the last take, and the next step started unless
    /// one runs.
    package func take(now: Date, step: @escaping Step) -> Set<String> {
        let found = attention
        attention = []
        guard running == nil, !stopped else { return found }
        let period = max(ttl, Double(fleet) / rate)
        let elapsed = min(period, lastStep.map { now.timeIntervalSince($0) } ?? period)
        let limit = max(8, Int((Double(fleet) * elapsed / period).rounded(.up)))
        lastStep = now
        let after = cursor
        running = Task { [weak self] in
            let result = await step(after, limit)
            await self?.finish(result)
        }
        return found
    }

    private func finish(_ result: (last: String?, count: Int, attention: [String], total: Int?)) {
        running = nil
        // Counted at a pass's start: a large fleet is paced as large from its first pass, not after it.
        if let total = result.total { fleet = total }
        attention.formUnion(result.attention)
        if let last = result.last {
            cursor = last
        } else {
            cursor = ""
        }
    }

    /// Waits for the step in flight (tests: what the sweep found, now).
    package func stepFinished() async { await running?.value }

    /// Ends the step in flight (its paced pings stop) and starts no other.
    package func shutdown() async {
        stopped = true
        running?.cancel()
        await running?.value
    }
}

extension HealthSweep {
    /// `body` over `items` at most `rate` a second by `clock`, a tenth of a second's worth at a
    /// time, so a step's pings last about until the next tick instead of landing in one burst;
    /// the answers merged. Stops early when cancelled (`shutdown`).
    package static func paced<Item, Answer>(_ items: [Item], rate: Double, clock: any Clock,
                                            _ body: ([Item]) async -> [String: Answer]) async -> [String: Answer] {
        let slice = max(1, Int(rate / 10)), tenth = Duration.milliseconds(100)
        var answers: [String: Answer] = [:]
        var start = items.startIndex
        while start < items.endIndex, !Task.isCancelled {
            let begun = clock.monotonic
            let end = min(start + slice, items.endIndex)
            answers.merge(await body(Array(items[start..<end]))) { first, _ in first }
            start = end
            let left = tenth - (clock.monotonic - begun)
            if left > .zero, items.endIndex > start { try? await clock.sleep(for: left) }
        }
        return answers
    }
}
