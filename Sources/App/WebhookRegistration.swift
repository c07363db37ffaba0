import Foundation
import Sync
import Services
import Telemetry

/// Registers the Railway notification rule that posts deployment events to this controller, once
/// at start, retried with backoff until Railway takes it. Runs as a child of the controller's
/// `TaskSupervisor`; `stop()` cancels it (an attempt in flight is cut off with it).
package final class WebhookRegistration: Sendable {
    private let child: TaskSupervisor.Child

    private init(child: TaskSupervisor.Child) { self.child = child }

    package static func start(services: InProcessServices, url: String, logger: Logger, clock: any Clock = SystemClock(),
                      in supervisor: TaskSupervisor) -> WebhookRegistration {
        start("railway notification rule", logger: logger, clock: clock, in: supervisor) { try await services.ensureNotificationRule(url: url) }
    }

    /// Registers something once (`ensure` answers whether it was made now), retried with backoff.
    package static func start(_ what: String, logger: Logger, clock: any Clock = SystemClock(), in supervisor: TaskSupervisor,
                              ensure: @escaping @Sendable () async throws -> Bool) -> WebhookRegistration {
        let child = supervisor.spawn("webhook-registration: \(what)") {
            var delay = 1.0
            while !Task.isCancelled {
                do {
                    let created = try await ensure()
                    logger.info(created ? "\(what) created" : "\(what) found")
                    return
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("\(what) not registered; retrying", ["error": Redacted.message(error), "seconds": String(Int(delay))])
                }
                try? await clock.sleep(for: .seconds(delay))
                delay = min(delay * 2, 300)
            }
        }
        return WebhookRegistration(child: child)
    }

    package func stop() async {
        child.cancel()
        await child.value()
    }
}
