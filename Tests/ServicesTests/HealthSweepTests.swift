import Foundation
import Testing
@testable import Services
import Sync

/// The sweep's pace: each ready runtime about once a `ttl`, never more than `rate` pings a second,
/// and a large fleet paced as large from its first pass (counted at the pass's start).
@Suite struct HealthSweepTests {
    @Test func aLargeFleetIsPacedAsLargeFromItsFirstPass() async {
        let sweep = HealthSweep(ttl: 15, rate: 100)
        let limits = Locked<[Int]>([])
        let step: HealthSweep.Step = { after, limit in
            limits.withLock { $0.append(limit) }
            return ("i\(limit)", limit, [], after.isEmpty ? 50_000 : nil)
        }
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        _ = await sweep.take(now: t0, step: step)
        await sweep.stepFinished()
        _ = await sweep.take(now: t0 + 5, step: step)
        await sweep.stepFinished()
        // Nothing known at first: a small step. Then 50,000 over 500 s (100 a second): 5 s is 500.
        #expect(limits.withLock { $0 } == [8, 500])
    }

    @Test func whatAStepFoundIsTakenOnce() async {
        let sweep = HealthSweep(ttl: 15, rate: 100)
        let step: HealthSweep.Step = { _, limit in (nil, limit, ["down1"], 3) }
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(await sweep.take(now: t0, step: step).isEmpty)
        await sweep.stepFinished()
        #expect(await sweep.take(now: t0 + 1, step: step) == ["down1"])
        await sweep.stepFinished()
        #expect(await sweep.take(now: t0 + 2, step: step) == ["down1"], "found again by the next step, not kept from the last")
    }

    /// A step's pings go out a tenth of a second's worth at a time (10 at 100 a second), the next
    /// slice only once the clock has moved on: never the whole step in one burst.
    @Test func aStepsPingsArePacedAtTheRate() async throws {
        let clock = ManualClock()
        let pinged = Locked<[Int]>([])
        let items = Array(0..<25)
        let run = Task {
            await HealthSweep.paced(items, rate: 100, clock: clock) { slice in
                pinged.withLock { $0.append(contentsOf: slice) }
                return Dictionary(uniqueKeysWithValues: slice.map { ("i\($0)", true) })
            }
        }
        for expected in [10, 20] {
            while clock.sleepers == 0 { await Task.yield() }
            #expect(pinged.withLock { $0.count } == expected, "one slice, then a wait")
            clock.advance(by: .milliseconds(100))
        }
        let answers = await run.value
        #expect(pinged.withLock { $0 } == items && answers.count == 25)
    }
}

