import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension URLSession {
    /// `data(for:)`, shielded from the caller's cancellation: the request runs to its end (its
    /// timeout bounds it) whether or not the caller was cancelled meanwhile.
    ///
    /// Why: on Linux, cancelling a task that awaits `URLSession.data(for:)` can deadlock
    /// FoundationNetworking. The runtime calls URLSession's cancel handler while it holds the
    /// task's status lock; the handler waits (`DispatchQueue.sync`) for the session's queue, on
    /// which the request's completion waits for that same lock to resume the task. With both of
    /// Swift's cooperative threads caught this way (two cores), the whole process froze: seen in
    /// a CI run and in gdb. Every URLSession request of this project goes through here.
    ///
    /// The request is made on a queue of its own, not on a cooperative thread: FoundationNetworking
    /// makes a task with a `DispatchQueue.sync` on the session's queue, which is busy with the
    /// transfers in flight, and with two cooperative threads a blocked one is half the process
    /// (perf at 200 claims/s, each configured over HTTP: cooperative threads waiting there).
    public func shieldedData(for request: URLRequest) async throws -> (Data, URLResponse) {
        try await withCheckedThrowingContinuation { continuation in
            URLSessionSubmission.queue.async {
                self.dataTask(with: request) { data, response, error in
                    if let data, let response {
                        continuation.resume(returning: (data, response))
                    } else {
                        continuation.resume(throwing: error ?? URLError(.badServerResponse))
                    }
                }.resume()
            }
        }
    }
}

/// The serial queue requests are made on (an overcommit thread of Dispatch's, which may block
/// without holding back Swift's cooperative pool).
private enum URLSessionSubmission {
    static let queue = DispatchQueue(label: "convos.urlsession.submit")
}
