import Foundation
import Sync
import CMalloc

/// glibc's allocator, set for a long-lived server on few cores. `serve` calls `limitArenas` first
/// thing; the reconciler calls `release` after a tick that read or listed the whole fleet.
///
/// Why: every libpq connection runs on a thread of its own (`ThreadExecutor`), and glibc gives a
/// thread that contends for the heap an arena of its own, up to eight per core. A whole read's
/// pages, a listing's JSON and a status write are made on one thread and freed on another; what
/// they free stays in their arena, and the process kept twice its live heap (519 MiB resident at
/// 50,000 instances).
public enum Allocator {
    /// Caps the arenas (glibc's `M_ARENA_MAX`) at one per core, at least two: threads share them,
    /// and memory one frees is memory the next can use. Also fixes the size from which a block is
    /// mapped on its own (`M_MMAP_THRESHOLD`, 128 KiB, glibc's starting value): left to itself glibc
    /// raises it to 32 MiB after the first large block is freed, and from then on a whole read's
    /// arrays and a listing's JSON land inside the heap, where what they free lies between what is
    /// kept and is not given back.
    public static func limitArenas(_ count: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)) {
        _ = mallopt(M_ARENA_MAX, Int32(count))
        _ = mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    }

    private static let releasing = Locked(false)

    /// Gives freed pages back to the system (`malloc_trim`), on a thread of its own: it walks every
    /// arena, which is not work for the cooperative pool. A call while one runs does nothing;
    /// `then` is told how long it took (it holds each arena's lock while it walks it).
    public static func release(then: @escaping @Sendable (Duration) -> Void = { _ in }) {
        guard releasing.withLock({ busy in defer { busy = true }; return !busy }) else { return }
        Thread.detachNewThread {
            let started = ContinuousClock.now
            _ = malloc_trim(0)
            releasing.withLock { $0 = false }
            then(ContinuousClock.now - started)
        }
    }
}
