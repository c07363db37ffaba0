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
        let child = supervisor.spawn("webhook-registration") {
            var delay = 1.0
            while !Task.isCancelled {
                do {
                    let created = try await services.ensureNotificationRule(url: url)
                    logger.info(created ? "railway notification rule created" : "railway notification rule found")
                    return
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("railway notification rule not registered; retrying", ["error": Redacted.message(error),
                                                                                           "seconds": String(Int(delay))])
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
