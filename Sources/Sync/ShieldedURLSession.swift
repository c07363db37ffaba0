import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension URLSession {
    /// `data(for:)`, shielded from the caller's cancellation: the request runs in a task of its
    /// own to its end (its timeout bounds it), and a cancelled caller simply stops waiting for it.
    ///
    /// Why: on Linux, cancelling a task that awaits `URLSession.data(for:)` can deadlock
    /// FoundationNetworking. The runtime calls URLSession's cancel handler while it holds the
    /// task's status lock; the handler waits (`DispatchQueue.sync`) for the session's queue, on
    /// which the request's completion waits for that same lock to resume the task. With both of
    /// Swift's cooperative threads caught this way (two cores), the whole process froze: seen in
    /// a CI run and in gdb. Every URLSession request of this project goes through here.
    public func shieldedData(for request: URLRequest) async throws -> (Data, URLResponse) {
        try await Task.detached { try await self.data(for: request) }.value
    }
}
