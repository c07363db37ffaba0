import Sync
import Foundation
internal import CMicroHTTPDShim

/// What libmicrohttpd's callbacks share: the responder, limits, in-flight count and deadlines.
/// Passed to every callback as its `cls` pointer; the server keeps it alive until the daemon stops.
final class ServerState: @unchecked Sendable {
    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let deadlines: ConnectionDeadlines
    let inFlight = Locked(0)
    /// Set by `shutdown` under `inFlight`'s lock: a request completed after it is answered at once,
    /// never suspended. (A keep-alive connection can still send one after the quiesce; suspended
    /// after the drain, it made libmicrohttpd abort the process in `MHD_stop_daemon`.)
    private let stopping = Locked(false)
    /// Streams being sent: finished at shutdown, so none holds the drain.
    private let streams = Locked<[ObjectIdentifier: HTTPStream]>([:])
    private let drainWaiters = Locked<[CheckedContinuation<Void, Never>]>([])

    init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) {
        self.configuration = configuration
        self.responder = responder
        self.deadlines = ConnectionDeadlines(timeout: configuration.requestTimeout)
    }

    /// Counts a request in unless the server is stopping; atomic with `stop()`.
    func admit() -> Bool {
        inFlight.withLock { count in
            guard !stopping.withLock({ $0 }) else { return false }
            count += 1
            return true
        }
    }

    /// From now on no request is suspended (`admit` refuses): the drain that follows is final.
    func stop() {
        inFlight.withLock { _ in stopping.withLock { $0 = true } }
    }

    /// Returns once no request is in flight.
    func drained() async {
        await withCheckedContinuation { continuation in
            let idle = inFlight.withLock { count -> Bool in
                if count == 0 { return true }
                drainWaiters.withLock { $0.append(continuation) }
                return false
            }
            if idle { continuation.resume() }
        }
    }

    func streamOpened(_ stream: HTTPStream) { streams.withLock { $0[ObjectIdentifier(stream)] = stream } }
    func streamClosed(_ stream: HTTPStream) { _ = streams.withLock { $0.removeValue(forKey: ObjectIdentifier(stream)) } }
    /// Streams open now, for tests and metrics.
    var openStreams: Int { streams.withLock { $0.count } }

    /// Ends every stream: each finishes sending what it holds.
    func finishStreams() {
        for stream in streams.withLock({ Array($0.values) }) { stream.finish() }
    }

    func finishedOne() {
        let waiters = inFlight.withLock { count -> [CheckedContinuation<Void, Never>] in
            count -= 1
            guard count == 0 else { return [] }
            return drainWaiters.withLock { w in defer { w = [] }; return w }
        }
        waiters.forEach { $0.resume() }
    }
}

/// Per-request state, owned by libmicrohttpd's `con_cls` slot from the first callback to completion.
final class RequestContext: @unchecked Sendable {
    let method: String
    let path: String
    let headers: [String: String]
    let query: [String: String]
    var body = Data()
    var tooLarge = false
    var started = false
    /// Counted in flight (`ServerState.admit`): only then does its completion count it out.
    var admitted = false
    /// Written by the handler's Task before it resumes the connection; read after the resume.
    var response: HTTPResponse?

    init(method: String, path: String, headers: [String: String], query: [String: String]) {
        self.method = method
        self.path = path
        self.headers = headers
        self.query = query
    }
}

/// A connection pointer handed to the Task that resumes it. libmicrohttpd allows resume from any thread.
struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
