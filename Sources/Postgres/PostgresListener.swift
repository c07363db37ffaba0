import Foundation
internal import CLibPQ

/// `LISTEN` on one channel, on a connection and thread of its own (libpq's notification API is
/// blocking). Calls `onNotify` for each notification; reconnects after a failure. A hint only:
/// whoever listens must stay correct without it.
public final class PostgresListener: @unchecked Sendable {
    private let url: String
    private let channel: String
    private let onNotify: @Sendable () -> Void
    private let stopped = NSLock()
    private var isStopped = false

    /// `channel` must be a plain identifier; it is checked, since LISTEN takes no parameter.
    public init?(url: String, channel: String, onNotify: @escaping @Sendable () -> Void) {
        guard !channel.isEmpty, channel.allSatisfy({ $0.isASCII && ($0.isLowercase || $0 == "_") }) else { return nil }
        self.url = url
        self.channel = channel
        self.onNotify = onNotify
        let thread = Thread { [self] in loop() }
        thread.name = "postgres-listen"
        thread.start()
    }

    public func stop() { stopped.withLock { isStopped = true } }
    private var stopping: Bool { stopped.withLock { isStopped } }

    private func loop() {
        while !stopping {
            guard let conn = PQconnectdb(url), PQstatus(conn) == CONNECTION_OK else {
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            PQclear(PQexec(conn, "LISTEN \(channel)"))
            let fd = PQsocket(conn)
            while !stopping && PQstatus(conn) == CONNECTION_OK {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 500) >= 0 else { break }
                guard PQconsumeInput(conn) == 1 else { break }
                var any = false
                while let n = PQnotifies(conn) { PQfreemem(n); any = true }
                if any { onNotify() }
            }
            PQfinish(conn)
        }
    }
}
