import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import HTTPServer
import Sync

/// Requests cancelled in flight, over and over, at every moment of their life: the process keeps
/// going. Unshielded, `URLSession.data(for:)` cancelled as it completes deadlocked
/// FoundationNetworking and froze both cooperative threads (seen in CI, stacks read with gdb).
@Suite struct CancelledRequestTests {
    struct Echo: HTTPResponder {
        func respond(to request: HTTPRequest) async -> HTTPResponse { .text("ok") }
    }

    @Test func cancellingRequestsInFlightNeverFreezes() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        let server = try HTTPServer(configuration: configuration, responder: Echo())
        let url = URL(string: "http://127.0.0.1:\(server.port)/")!
        // A frozen pool cannot run a Swift timer: a plain thread ends the run loudly instead of
        // letting it hang (unshielded, this test froze every time it was tried).
        let done = Locked(false)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 60)
            if !done.withLock({ $0 }) {
                FileHandle.standardError.write(Data("cancellingRequestsInFlightNeverFreezes: frozen for 60 s\n".utf8))
                exit(1)
            }
        }
        defer { done.withLock { $0 = true } }
        for round in 0..<400 {
            let task = Task { try await URLSession.shared.shieldedData(for: URLRequest(url: url)) }
            // Cancelled before, during and right after the response, by turns.
            if round % 4 != 0 { await Task.yield() }
            if round % 2 == 0 { try? await Task.sleep(for: .microseconds(50 * (round % 7))) }
            task.cancel()
            _ = try? await task.value
        }
        // Still serving, and the client still works.
        let (data, _) = try await URLSession.shared.shieldedData(for: URLRequest(url: url))
        #expect(String(decoding: data, as: UTF8.self) == "ok")
        await server.shutdown()
    }
}
