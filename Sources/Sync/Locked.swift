import Foundation

/// A mutex-protected value, for state shared with threads Swift concurrency does not own
/// (libmicrohttpd's, libpq's, signal handlers). Hold the lock briefly; never await inside.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
