import Foundation
internal import CLibPQ

/// `LISTEN` on some channels, on a connection and thread of its own (libpq's notification API is
/// blocking). Calls `onNotify` with the channel and payload of each notification; reconnects after
/// a failure. A hint only: whoever listens must stay correct without it.
public final class PostgresListener: @unchecked Sendable {
    private let url: String
    private let channels: [String]
    private let onNotify: @Sendable (_ channel: String, _ payload: String) -> Void
    private let stopped = NSLock()
    private var isStopped = false
    private var attempts = 0
    private var open = 0

    /// Channels must be plain identifiers; they are checked, since LISTEN takes no parameter.
    /// Seconds between attempts while the database is unreachable.
    private let retryDelay: TimeInterval

    public init?(url: String, channels: [String], retryDelay: TimeInterval = 1,
                 onNotify: @escaping @Sendable (_ channel: String, _ payload: String) -> Void) {
        guard channels.allSatisfy({ c in !c.isEmpty && c.allSatisfy { $0.isASCII && ($0.isLowercase || $0 == "_") } }) else { return nil }
        self.url = url
        self.retryDelay = retryDelay
        self.channels = channels
        self.onNotify = onNotify
        let thread = Thread { [self] in loop() }
        thread.name = "postgres-listen"
        thread.start()
    }

    public func stop() { stopped.withLock { isStopped = true } }
    private var stopping: Bool { stopped.withLock { isStopped } }

    /// Connections tried so far, and libpq connections allocated and not yet freed (at most one):
    /// what a test counts to prove that a database that stays down leaks nothing.
    public var connectionCounts: (attempts: Int, open: Int) { stopped.withLock { (attempts, open) } }
    private func count(attempt: Int = 0, open delta: Int) { stopped.withLock { attempts += attempt; open += delta } }

    private func loop() {
        while !stopping {
            guard let conn = PQconnectdb(url) else { Thread.sleep(forTimeInterval: retryDelay); continue }
            count(attempt: 1, open: 1)
            guard PQstatus(conn) == CONNECTION_OK else {
                // A failed connection is still allocated: free it, or one leaks a second while the database is down.
                PQfinish(conn)
                count(open: -1)
                Thread.sleep(forTimeInterval: retryDelay)
                continue
            }
            for channel in channels { PQclear(PQexec(conn, "LISTEN \(channel)")) }
            let fd = PQsocket(conn)
            while !stopping && PQstatus(conn) == CONNECTION_OK {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 500) >= 0 else { break }
                guard PQconsumeInput(conn) == 1 else { break }
                while let n = PQnotifies(conn) {
                    onNotify(String(cString: n.pointee.relname), String(cString: n.pointee.extra))
                    PQfreemem(n)
                }
            }
            PQfinish(conn)
            count(open: -1)
        }
    }
}
