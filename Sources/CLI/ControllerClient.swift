import Foundation
import Sync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why a CLI command stopped, with the contract's exit code.
package struct CLIFailure: Error {
    package enum Code: Int32 {
        case changes = 1, usage = 2, refused = 3, failure = 4
    }
    package let code: Code
    /// One line per problem, already formatted for stderr.
    package let lines: [String]

    package static func usage(_ message: String) -> CLIFailure { CLIFailure(code: .usage, lines: [message]) }

    package init(code: Code, lines: [String]) {
        self.code = code
        self.lines = lines
    }
}

/// The client side of the API for CLI commands: `CONTROLLER_URL` and `CONTROLLER_API_TOKEN`.
package struct ControllerClient {
    package let base: String
    package let token: String?

    package init(environment: [String: String]) {
        var base = environment["CONTROLLER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.token = environment["CONTROLLER_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    package struct Response {
        package let status: Int
        package let body: Data
        package var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    }

    /// Sends a request; 2xx and 404 come back, other 4xx throw `refused` (exit 3) and 5xx or
    /// network failures throw `failure` (exit 4), each with the server's message.
    package func send(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil, allow404: Bool = false) async throws -> Response {
        guard let url = URL(string: base + path) else { throw CLIFailure.usage("CONTROLLER_URL is not a URL: \(base)") }
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.shieldedData(for: request)
        } catch {
            throw CLIFailure(code: .failure, lines: ["error: cannot reach the controller at \(base): \(error.localizedDescription)"])
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let result = Response(status: status, body: data)
        if (200..<300).contains(status) || (allow404 && status == 404) { return result }
        throw CLIFailure(code: (400..<500).contains(status) ? .refused : .failure, lines: Self.errorLines(result))
    }

    /// The contract's error body as one line per detail: `error: agent/a: spec.owner: is immutable`.
    package static func errorLines(_ response: Response) -> [String] {
        guard let error = response.json["error"] as? [String: Any] else {
            return ["error: the controller answered \(response.status)"]
        }
        let details = (error["details"] as? [[String: Any]]) ?? []
        if details.isEmpty { return ["error: \(error["message"] as? String ?? "HTTP \(response.status)")"] }
        return details.map { d in
            var line = "error: "
            if let object = d["object"] as? String { line += "\(object): " }
            if let path = d["path"] as? String, !path.isEmpty { line += "\(path): " }
            line += d["message"] as? String ?? ""
            if let l = d["line"] as? Int { line += " (line \(l))" }
            return line
        }
    }
}

extension ControllerClient {
    /// The lines of a streamed answer (a watch), as they arrive. Ends when the server ends the
    /// body; a status other than 200 ends it with the server's message.
    package func lines(_ path: String) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            guard let url = URL(string: base + path) else {
                continuation.finish(throwing: CLIFailure.usage("CONTROLLER_URL is not a URL: \(base)"))
                return
            }
            var request = URLRequest(url: url, timeoutInterval: 3600)
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            let reader = LineReader(continuation)
            let session = URLSession(configuration: .default, delegate: reader, delegateQueue: nil)
            let task = session.dataTask(with: request)
            continuation.onTermination = { _ in
                // Not from here: this may run inside the runtime's cancellation, and URLSession's
                // cancel waits on its queue (see `URLSession.shieldedData`).
                DispatchQueue.global().async {
                    task.cancel()
                    session.invalidateAndCancel()
                }
            }
            task.resume()
        }
    }
}

/// Splits a streamed body into lines for `ControllerClient.lines`. URLSession calls it on its own
/// queue, one call at a time.
private final class LineReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<String, any Error>.Continuation
    private var pending = Data()
    private var status = 200
    private var errorBody = Data()

    package init(_ continuation: AsyncThrowingStream<String, any Error>.Continuation) { self.continuation = continuation }

    package func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
    }

    package func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard status == 200 else { errorBody.append(data); return }
        pending.append(data)
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
            pending = Data(pending[(newline + 1)...])
        }
    }

    package func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if status != 200 {
            let message = ((try? JSONSerialization.jsonObject(with: errorBody)) as? [String: Any])?["message"] as? String
            continuation.finish(throwing: CLIFailure(code: (400..<500).contains(status) ? .refused : .failure,
                                                     lines: ["error: \(message ?? "the controller answered \(status)")"]))
        } else if let error, (error as NSError).code != NSURLErrorCancelled {
            continuation.finish(throwing: CLIFailure(code: .failure, lines: ["error: the watch ended: \(error.localizedDescription)"]))
        } else {
            continuation.finish()
        }
        session.finishTasksAndInvalidate()
    }
}
