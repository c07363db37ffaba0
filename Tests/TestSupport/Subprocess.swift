import Foundation

/// Runs `/bin/sh -c command` and waits for it on a thread of its own, never on the cooperative
/// pool. (Foundation's `Process.waitUntilExit` has been seen to miss a child's exit on Linux.)
/// Returns the exit status.
public func shell(_ command: String) async -> Int32 {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: shellBlocking(command))
        }
        thread.start()
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module
/// does not import; looked up once.
private let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

func shellBlocking(_ command: String) -> Int32 {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
    defer { argv.forEach { free($0) } }
    // Children start as from a shell: no signals blocked (this thread's mask is libdispatch's).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    // Nothing but stdin, stdout and stderr is inherited: URLSession's sockets (libcurl's) are not
    // close-on-exec, and a Postgres started under a busy suite inherited a thousand of them, which
    // left it 8 of its 1000 files ("insufficient file descriptors available to start server").
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    _ = closeFrom?(&actions, 3)
    guard posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS, written out: Swift does not import the macros.
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Runs a shell command and returns its exit status and standard output (stderr goes to the output too
/// when `mergeErrors`). Waits on a thread of its own.
public func shellOutput(_ command: String, mergeErrors: Bool = false) async -> (status: Int32, output: String) {
    let file = "/tmp/convos-test-out-\(UUID().uuidString)"
    defer { unlink(file) }
    let status = await shell("(\(command)) >\(file)\(mergeErrors ? " 2>&1" : "")")
    let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    return (status, output)
}

/// Signals a process and waits (at most `seconds`) until it is gone or a zombie: an orphan whose
/// parent is a PID 1 that never reaps stays a zombie, and `kill -0` would call it alive forever.
public func killAndWait(_ pid: Int32, signal: String = "KILL", seconds: Int = 5) async {
    _ = await shell("""
        kill -\(signal) \(pid) 2>/dev/null
        for _ in $(seq 1 \(seconds * 50)); do
          state=$(awk '{print $3}' /proc/\(pid)/stat 2>/dev/null) || break
          [ -z "$state" ] || [ "$state" = Z ] && break
          sleep 0.02
        done
        """)
}
