import Sync
import Foundation
internal import CMicroHTTPDShim

public struct HTTPServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; `HTTPServer.port` tells which.
    public var port: Int = 8080
    /// Bodies over this are answered 413 without being read whole.
    public var maxBodyBytes: Int = 1 << 20
    /// libmicrohttpd's polling threads; handlers run on Swift's pool, so few are needed.
    public var threads: Int = 2
    /// Connections over this are refused at accept.
    public var connectionLimit: Int = 1024
    /// A whole request must arrive within this time (see `ConnectionDeadlines`).
    public var requestTimeout: Duration = .seconds(10)
    /// A connection silent this long is closed.
    public var idleTimeoutSeconds: Int = 60
    /// With a certificate and key, the server speaks HTTPS only (libmicrohttpd's GnuTLS).
    public var tls: TLSCredentials?

    public init() {}
}

/// A server certificate (chain) and its private key, as PEM text. The key never leaves memory
/// here: it is handed to libmicrohttpd and not logged.
public struct TLSCredentials: Sendable {
    public var certificatePEM: String
    public var keyPEM: String
    public init(certificatePEM: String, keyPEM: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    /// A throwaway self-signed certificate for 127.0.0.1, ::1 and localhost, valid 30 days, that is
    /// its own CA: for `serve --simulate` on loopback and for tests.
    public static func selfSigned() throws -> TLSCredentials {
        var cert: UnsafeMutablePointer<CChar>?, key: UnsafeMutablePointer<CChar>?
        var certLength = 0, keyLength = 0
        let rc = convos_self_signed(&cert, &certLength, &key, &keyLength)
        guard rc == 0, let cert, let key else { throw HTTPServerError.tls("could not make a self-signed certificate (GnuTLS error \(rc))") }
        defer {
            memset(key, 0, keyLength)
            free(cert)
            free(key)
        }
        return TLSCredentials(certificatePEM: String(cString: cert), keyPEM: String(cString: key))
    }
}

public enum HTTPServerError: Error, CustomStringConvertible {
    case bind(host: String, port: Int, errno: Int32)
    case start
    case tls(String)

    public var description: String {
        switch self {
        case .bind(let host, let port, let e): return "cannot listen on \(host):\(port): \(String(cString: strerror(e)))"
        case .start: return "libmicrohttpd failed to start (with TLS: is the certificate or key malformed?)"
        case .tls(let message): return message
        }
    }
}

/// An HTTP/1.1 server on libmicrohttpd.
///
/// libmicrohttpd's threads read requests; when one is complete its connection is suspended and the
/// responder runs in a Task on Swift's pool; the response is queued when the connection resumes.
/// No libmicrohttpd thread ever waits for a handler, and no handler ever blocks a libmicrohttpd thread.
public final class HTTPServer: Sendable {
    public let port: Int
    let state: ServerState
    private let daemon: Locked<OpaquePointer?>
    private let listenFD: Int32
    private let pems: PEMs

    /// The PEM copies libmicrohttpd reads; the key's bytes are zeroed when freed.
    private final class PEMs: @unchecked Sendable {
        let cert: UnsafeMutablePointer<CChar>?
        let key: UnsafeMutablePointer<CChar>?
        init(cert: UnsafeMutablePointer<CChar>?, key: UnsafeMutablePointer<CChar>?) {
            self.cert = cert
            self.key = key
        }
        deinit {
            if let key { memset(key, 0, strlen(key)); free(key) }
            free(cert)
        }
    }

    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) throws {
        let (fd, port) = try Self.listen(host: configuration.host, port: configuration.port)
        let state = ServerState(configuration: configuration, responder: responder)
        let context = Unmanaged.passUnretained(state).toOpaque()
        // libmicrohttpd keeps pointers to the PEM text for the daemon's life: the server holds them.
        let cert = configuration.tls.map { strdup($0.certificatePEM) } ?? nil
        let key = configuration.tls.map { strdup($0.keyPEM) } ?? nil
        self.pems = PEMs(cert: cert, key: key)
        guard let daemon = convos_mhd_start(
            fd, UInt32(max(1, configuration.threads)), UInt32(configuration.connectionLimit),
            UInt32(configuration.idleTimeoutSeconds),
            accessHandlerCallback, context, requestCompletedCallback, context, connectionNotifyCallback, context, cert, key)
        else {
            close(fd)
            state.deadlines.stop()
            throw HTTPServerError.start
        }
        self.port = port
        self.state = state
        self.daemon = Locked(daemon)
        self.listenFD = fd
    }

    /// A server dropped without `shutdown` (a test that failed half way) must not leave libmicrohttpd
    /// calling back into freed state: stop the daemon here, blocking, as a last resort.
    /// With requests still suspended, libmicrohttpd refuses to stop (it aborts): then the daemon
    /// only stops accepting, and its state is kept alive for the callbacks still to come.
    deinit {
        guard let daemon = daemon.withLock({ d -> OpaquePointer? in defer { d = nil }; return d }) else { return }
        _ = MHD_quiesce_daemon(daemon)
        if state.inFlight.withLock({ $0 }) == 0 {
            MHD_stop_daemon(daemon)
            close(listenFD)
            state.deadlines.stop()
        } else {
            _ = Unmanaged.passRetained(state)
        }
    }

    /// Whether this server speaks HTTPS.
    public var isTLS: Bool { pems.cert != nil }

    /// Requests being handled now.
    public var inFlight: Int { state.inFlight.withLock { $0 } }
    /// Streamed responses being sent now (watches).
    public var openStreams: Int { state.openStreams }
    /// Connections cut off for not sending a request in time.
    public var connectionsCut: Int { state.deadlines.cutCount }

    /// Stops accepting, waits for in-flight requests to be answered, then stops the daemon.
    /// Handlers are bounded by their own timeouts, so the wait is too.
    public func shutdown() async {
        guard let daemon = daemon.withLock({ d -> OpaquePointer? in defer { d = nil }; return d }) else { return }
        let daemonAddress = UInt(bitPattern: daemon)
        _ = MHD_quiesce_daemon(daemon)
        // Requests completing from now on are answered 503 at once, not suspended.
        state.stop()
        // Watches end now (each sends what it holds); then only bounded requests are left.
        state.finishStreams()
        await state.drained()
        let fd = listenFD
        await onDedicatedThread("http-stop") {
            MHD_stop_daemon(OpaquePointer(bitPattern: daemonAddress))
            close(fd)
        }
        state.deadlines.stop()
    }

    /// Binds and listens ourselves, so port 0 works and the chosen port is known before start.
    private static func listen(host: String, port: Int) throws -> (Int32, Int) {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError.bind(host: host, port: port, errno: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var storage = sockaddr_storage()
        var length: socklen_t
        let parsed: Bool = withUnsafeMutablePointer(to: &storage) { pointer in
            if v6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    a.pointee.sin6_family = sa_family_t(AF_INET6)
                    a.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                    return inet_pton(AF_INET6, host, &a.pointee.sin6_addr) == 1
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                a.pointee.sin_family = sa_family_t(AF_INET)
                a.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                return inet_pton(AF_INET, host, &a.pointee.sin_addr) == 1
            }
        }
        length = socklen_t(v6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        guard parsed else { close(fd); throw HTTPServerError.bind(host: host, port: port, errno: EINVAL) }
        let ok = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { a -> Bool in
                guard bind(fd, a, length) == 0, Glibc.listen(fd, 1024) == 0 else { return false }
                return getsockname(fd, a, &length) == 0
            }
        }
        guard ok else { let e = errno; close(fd); throw HTTPServerError.bind(host: host, port: port, errno: e) }
        let actual = withUnsafePointer(to: &storage) { pointer in
            v6 ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
               : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, Int(actual))
    }
}
