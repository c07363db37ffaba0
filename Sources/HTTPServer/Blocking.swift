import Foundation
import Sync

/// Runs a blocking call on a new thread and awaits it, so it never holds a cooperative thread.
/// For rare, slow calls (stopping the daemon), not for hot paths.
func onDedicatedThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}


/// Monotonic nanoseconds, for deadlines that ignore wall-clock jumps.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
