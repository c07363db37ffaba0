import Foundation

/// Registers the Railway notification rule that posts deployment events to this controller, once
/// at start, retried with backoff until Railway takes it. Owned by `Controller`, stopped at shutdown
/// (an attempt in flight finishes: its request is bounded by the provider client's timeout).
final class WebhookRegistration: Sendable {
    private let task: Task<Void, Never>
    private let stopped: Stopped

    private actor Stopped {
        var value = false
        func set() { value = true }
    }

    private init(task: Task<Void, Never>, stopped: Stopped) {
        self.task = task
        self.stopped = stopped
    }

    static func start(services: InProcessServices, url: String, logger: Logger) -> WebhookRegistration {
        let stopped = Stopped()
        let task = Task {
            var delay = 1.0
            while await !stopped.value {
                do {
                    let created = try await services.ensureNotificationRule(url: url)
                    logger.info(created ? "railway notification rule created" : "railway notification rule found")
                    return
                } catch {
                    logger.warning("railway notification rule not registered; retrying", ["error": Redacted.message(error),
                                                                                           "seconds": String(Int(delay))])
                }
                // Sleeps in short steps, so a stop is seen within a second.
                let until = Date().addingTimeInterval(delay)
                while Date() < until, await !stopped.value { try? await Task.sleep(for: .milliseconds(200)) }
                delay = min(delay * 2, 300)
            }
        }
        return WebhookRegistration(task: task, stopped: stopped)
    }

    func stop() async {
        await stopped.set()
        await task.value
    }
}
