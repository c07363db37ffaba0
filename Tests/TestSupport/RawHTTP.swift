import Foundation
import Sync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A blocking TCP client for tests that must control bytes on the wire (slow clients, oversized
/// bodies). Each call runs on a thread of its own, never on the cooperative pool.
public final class RawConnection: @unchecked Sendable {
    private let fd: Int32

    public init(port: Int) async throws {
        let fd: Int32 = await runOnThread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if ok != 0 { close(fd); return -1 }
            return fd
        }
        guard fd >= 0 else { throw TestEnvironmentError("cannot connect to 127.0.0.1:\(port)") }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends bytes; false when the server has closed the connection.
    @discardableResult
    public func send(_ text: String) async -> Bool { await send(Data(text.utf8)) }

    @discardableResult
    public func send(_ data: Data) async -> Bool {
        let fd = self.fd
        return await runOnThread {
            data.withUnsafeBytes { bytes in
                var sent = 0
                while sent < bytes.count {
                    let n = Glibc.send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                    if n <= 0 { return false }
                    sent += n
                }
                return true
            }
        }
    }

    /// Reads until the server closes the connection or `timeout` passes; returns what arrived.
    public func readUntilClosed(timeout: Double) async -> (data: Data, closed: Bool) {
        let fd = self.fd
        return await runOnThread {
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { data.append(buffer, count: n); continue }
                return (data, n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            }
        }
    }

    /// Reads one response's head and as much body as `Content-Length` says.
    public func readResponse(timeout: Double = 5) async -> String {
        let fd = self.fd
        return await runOnThread {
            var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data.append(buffer, count: n)
                let text = String(decoding: data, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let head = text[..<end.lowerBound].lowercased()
                    let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length { break }
                }
            }
            return String(decoding: data, as: UTF8.self)
        }
    }
}

/// Runs a blocking closure on a new thread and awaits its result.
public func runOnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// A minimal HTTP client over URLSession for ordinary requests in tests.
public struct TestHTTPClient: Sendable {
    public let base: String
    public init(port: Int) { base = "http://127.0.0.1:\(port)" }
    public init(base: String) { self.base = base }

    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// A header by name, in any case.
        public func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
        public func json() throws -> [String: Any] {
            (try JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }
    }

    public func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Response {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.shieldedData(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        return Response(status: http.statusCode, headers: fields, body: data)
    }

    public func get(_ path: String, headers: [String: String] = [:]) async throws -> Response {
        try await send("GET", path, headers: headers)
    }
}
