import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Hands memory freed after a large piece of work back to the system. glibc keeps what a burst
/// freed in its arenas: a new term's whole read of 50,000 instances (every row as text, every
/// status decoded) left the controller's resident size at its peak for good. Called by the
/// reconciler after a tick that read the whole fleet; runs on a thread of its own (trimming walks
/// the heap), never on the cooperative pool, and returns at once.
package enum FreedMemory {
    package static func release() {
        #if canImport(Glibc)
        // malloc_trim is glibc's, outside the Glibc module's headers: looked up by name.
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        typealias Trim = @convention(c) (Int) -> Int32
        let trim = unsafeBitCast(symbol, to: Trim.self)
        let thread = Thread { _ = trim(0) }
        thread.name = "malloc-trim"
        thread.start()
        #endif
    }
}
