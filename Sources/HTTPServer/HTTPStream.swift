import Foundation
import Sync
internal import CMicroHTTPDShim

/// A response body written while it is sent, with chunked encoding: a watch. The handler returns
/// a response carrying the stream at once; a producer `write`s to it and `finish`es it.
///
/// Bounded: bytes the client has not read yet count against `limit`; a write past it cuts the
/// stream (the client stopped reading) and returns false, so a slow or abandoned reader never holds
/// more than `limit` of memory. libmicrohttpd's thread reads from the stream; when nothing is
/// buffered it suspends the connection, and the next write resumes it: no thread ever waits.
public final class HTTPStream: Sendable {
    struct State {
        /// Bytes written and not yet sent are `buffer[sent...]`. Read by an offset, not by
        /// `removeFirst`, whose storage kept every byte ever written while the stream lived.
        var buffer = Data()
        var sent = 0
        var unsent: Int { buffer.count - sent }
        var finished = false
        var cut = false
        var closed = false
        var suspended: ConnectionHandle?
        var closeHandlers: [@Sendable () -> Void] = []
    }
    let state = Locked(State())
    public let limit: Int

    public init(limit: Int = 256 * 1024) { self.limit = limit }

    /// Queues `data`; false when the stream is closed, finished or was just cut for being over `limit`.
    @discardableResult
    public func write(_ data: Data) -> Bool {
        let (ok, resume) = state.withLock { s -> (Bool, ConnectionHandle?) in
            guard !s.closed, !s.finished, !s.cut else { return (false, nil) }
            if s.unsent + data.count > limit {
                s.cut = true
                s.buffer = Data()
                s.sent = 0
            } else {
                s.buffer.append(data)
            }
            defer { s.suspended = nil }
            return (!s.cut, s.suspended)
        }
        if let resume { MHD_resume_connection(resume.pointer) }
        return ok
    }

    /// Ends the body once what is buffered has been sent.
    public func finish() {
        let resume = state.withLock { s -> ConnectionHandle? in
            s.finished = true
            defer { s.suspended = nil }
            return s.suspended
        }
        if let resume { MHD_resume_connection(resume.pointer) }
    }

    /// Whether the client is gone, the stream finished, or it was cut: writing is pointless.
    public var isOver: Bool { state.withLock { $0.closed || $0.finished || $0.cut } }

    /// Whether it was cut for being over its limit.
    public var wasCut: Bool { state.withLock { $0.cut } }

    /// Runs `handler` once the connection is done with the stream (at once if it already is).
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.closed { return true }
            s.closeHandlers.append(handler)
            return false
        }
        if now { handler() }
    }

    /// libmicrohttpd's thread: copies what is buffered, or suspends the connection until a write.
    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int, connection: ConnectionHandle) -> Int {
        state.withLock { s -> Int in
            if s.cut { return -2 }
            if s.unsent > 0 {
                let n = min(max, s.unsent)
                let from = s.sent
                s.buffer.withUnsafeBytes { bytes in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + from, byteCount: n)
                }
                s.sent += n
                if s.sent == s.buffer.count {
                    s.buffer = Data()
                    s.sent = 0
                } else if s.sent >= 64 * 1024 {
                    // Partly sent and large: keep only the rest.
                    var rest = Data(capacity: s.unsent)
                    rest.append(contentsOf: s.buffer[(s.buffer.startIndex + s.sent)...])
                    s.buffer = rest
                    s.sent = 0
                }
                return n
            }
            if s.finished { return -1 }
            // Suspended under the lock, so a write cannot slip between the check and the suspend.
            MHD_suspend_connection(connection.pointer)
            s.suspended = connection
            return 0
        }
    }

    /// The connection let go of the stream (sent, failed or the client left).
    func closed() {
        let handlers = state.withLock { s -> [@Sendable () -> Void] in
            s.closed = true
            s.buffer = Data()
            s.sent = 0
            defer { s.closeHandlers = [] }
            return s.closeHandlers
        }
        handlers.forEach { $0() }
    }
}

/// What the reader callbacks need: the stream and its connection.
final class StreamContext {
    let stream: HTTPStream
    let connection: ConnectionHandle
    let state: ServerState
    init(stream: HTTPStream, connection: ConnectionHandle, state: ServerState) {
        self.stream = stream
        self.connection = connection
        self.state = state
    }
}

let streamReaderCallback: MHD_ContentReaderCallback = { cls, _, buffer, max in
    guard let cls, let buffer else { return -2 }
    let context = Unmanaged<StreamContext>.fromOpaque(cls).takeUnretainedValue()
    return context.stream.read(into: buffer, max: max, connection: context.connection)
}

let streamFreeCallback: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    let context = Unmanaged<StreamContext>.fromOpaque(cls).takeRetainedValue()
    context.state.streamClosed(context.stream)
    context.stream.closed()
}
