import Foundation

/// A Postgres cluster of a test's own, for tests that stop or restart the server and so must not
/// disturb the shared one. Built with the binaries `scripts/test` names in `TEST_PG_BIN`.
public final class TemporaryCluster: Sendable {
    public let directory: String
    public let port: Int
    private let bin: String

    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    public init() async throws {
        guard let bin = ProcessInfo.processInfo.environment["TEST_PG_BIN"] else {
            throw TestEnvironmentError("TEST_PG_BIN is not set: run the suite with `bash scripts/test`")
        }
        self.bin = bin
        self.port = try freePort()
        self.directory = "/tmp/convos-cluster-\(UUID().uuidString.prefix(8))"
        let owner = getuid() == 0 ? "chown postgres:postgres \(directory) && " : ""
        try await Self.check("mkdir -p \(directory) && \(owner)chmod 700 \(directory)")
        try await pg("initdb -D \(directory) -U postgres --auth=trust -E UTF8 >/dev/null")
        try await pg("""
            printf '%s\\n' "listen_addresses = '127.0.0.1'" "port = \(port)" \
            "unix_socket_directories = '\(directory)'" "fsync = off" >> \(directory)/postgresql.conf
            """)
        try await start()
    }

    public func start() async throws { try await pg("pg_ctl -D \(directory) -l \(directory)/log -w start >/dev/null") }
    public func stop() async throws { try await pg("pg_ctl -D \(directory) -m fast -w stop >/dev/null") }
    public func restart() async throws {
        try await pg("pg_ctl -D \(directory) -l \(directory)/log -m fast -w restart >/dev/null")
    }

    /// Stops the server and removes its folder.
    public func destroy() async {
        try? await stop()
        _ = await shell("rm -rf \(directory)")
    }

    /// Runs a Postgres tool from `bin` as the `postgres` user (Postgres refuses to run as root).
    private func pg(_ command: String) async throws {
        let full = "PATH=\(bin):$PATH; \(command)"
        let escaped = full.replacingOccurrences(of: "'", with: "'\\''")
        try await Self.check(getuid() == 0 ? "runuser -u postgres -- sh -c '\(escaped)'" : full)
    }

    private static func check(_ command: String) async throws {
        let status = await shell(command)
        guard status == 0 else { throw TestEnvironmentError("command failed (\(status)): \(command)") }
    }
}

/// A TCP port on loopback that nothing listens on now.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestEnvironmentError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0 else { throw TestEnvironmentError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
