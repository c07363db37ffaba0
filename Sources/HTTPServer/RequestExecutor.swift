import Foundation

/// The threads request handlers run on (their tasks prefer this executor), so a claim never
/// waits behind the reconciler's work on Swift's shared pool, which has one thread per core: a
/// tick planning and writing 50,000 statuses, a burst of configures, held both threads for
/// hundreds of milliseconds while claims waited their turn. The system schedules these threads
/// beside the pool's, so each side gets its share of the cores. Owned by `HTTPServer`, which
/// stops it with the server.
final class RequestExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var stopping = false

    init(threads: Int) {
        for n in 0..<max(1, threads) {
            let thread = Thread { [self] in self.run() }
            thread.name = "http-handler-\(n)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads exit once the queue is empty.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count { condition.unlock(); return }
            let job = jobs[head]
            head += 1
            // FIFO without shifting the array on every take.
            if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
