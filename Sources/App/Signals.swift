import Foundation
import Sync

/// Waits for SIGTERM or SIGINT. Signals are taken by dispatch sources on their own queue, so no
/// handler runs in signal context and nothing blocks a cooperative thread.
public enum Signals {
    /// Unblocks SIGTERM and SIGINT on the calling (main) thread. A parent that spawned us from a
    /// thread with signals blocked (libdispatch's workers block them) passes its mask on, and a
    /// blocked SIGTERM would never reach the handler below. Called first thing by `run`.
    public static func unblockTermination() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    public static func waitForTermination() async -> Int32 {
        await withCheckedContinuation { continuation in
            let fired = Locked(false)
            let queue = DispatchQueue(label: "convos.signals")
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGTERM, SIGINT] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler {
                    guard fired.withLock({ f -> Bool in defer { f = true }; return !f }) else { return }
                    continuation.resume(returning: sig)
                }
                source.resume()
                sources.append(source)
            }
            // The sources must outlive this call; they live as long as the process.
            retained.withLock { $0 += sources }
        }
    }

    private static let retained = Locked<[any DispatchSourceSignal]>([])
}

