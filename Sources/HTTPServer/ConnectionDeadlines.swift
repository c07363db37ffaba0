import Foundation

/// Cuts off clients that take too long to send a request, such as one trickling a byte every few
/// seconds (slowloris), which libmicrohttpd's inactivity timeout alone never catches.
///
/// Each connection must deliver a whole request (headers and body) within `timeout` of opening, or
/// of its previous response completing. A sweeper thread shuts down the socket of a connection that
/// misses it; libmicrohttpd then sees the end of the stream and closes the connection itself. The
/// registry lock is held across `shutdown(2)` and across removal on close, so a socket number that
/// was already closed and reused is never touched.
final class ConnectionDeadlines: @unchecked Sendable {
    final class Tracked: @unchecked Sendable {
        let fd: Int32
        /// Monotonic start of the current wait for a request; nil while a request is being handled.
        var waitingSince: UInt64?
        var cut = false
        init(fd: Int32, now: UInt64) { self.fd = fd; self.waitingSince = now }
    }

    private let timeoutNanos: UInt64
    private let condition = NSCondition()
    private var open: [ObjectIdentifier: Tracked] = [:]
    private var stopped = false
    private(set) var cutCount = 0

    init(timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        timeoutNanos = UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        let thread = Thread { [self] in sweep() }
        thread.name = "http-deadlines"
        thread.start()
    }

    func opened(fd: Int32) -> Tracked {
        let tracked = Tracked(fd: fd, now: monotonicNanoseconds())
        condition.lock(); open[ObjectIdentifier(tracked)] = tracked; condition.unlock()
        return tracked
    }

    func closed(_ tracked: Tracked) {
        condition.lock(); open[ObjectIdentifier(tracked)] = nil; condition.unlock()
    }

    /// The whole request has arrived: no deadline while the handler works.
    func received(_ tracked: Tracked) {
        condition.lock(); tracked.waitingSince = nil; condition.unlock()
    }

    /// The response is done: the next request's clock starts.
    func completed(_ tracked: Tracked) {
        condition.lock(); tracked.waitingSince = monotonicNanoseconds(); condition.unlock()
    }

    func stop() {
        condition.lock(); stopped = true; condition.signal(); condition.unlock()
    }

    private func sweep() {
        let tick = min(timeoutNanos / 4, 250_000_000)
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(tick) / 1e9))
            let now = monotonicNanoseconds()
            for tracked in open.values where !tracked.cut {
                if let since = tracked.waitingSince, now &- since > timeoutNanos {
                    tracked.cut = true
                    cutCount += 1
                    shutdown(tracked.fd, Int32(SHUT_RDWR))
                }
            }
        }
    }
}
