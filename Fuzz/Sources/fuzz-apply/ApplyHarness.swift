import App
import Reconcile
import Telemetry
import Dispatch
import Foundation
import HTTPServer
import Postgres
import Sync

/// The apply path's promises, checked by the fuzzer on every input, in-process through the same
/// router the server uses, into a real Postgres (`FUZZ_DATABASE_URL`, a database of its own):
/// - no 5xx, and every response body is JSON;
/// - a refused request (4xx) and a dry run change nothing stored;
/// - an accepted apply, sent again, changes nothing: every object comes back `unchanged` (or a
///   409 when the input pinned a resourceVersion that the first apply moved past).
///
/// libFuzzer calls from its own thread, never one of Swift's cooperative threads, so waiting on
/// a semaphore for the async handler blocks nothing Swift needs.
final class ApplyHarness: Sendable {
    static let shared = ApplyHarness()

    /// Stored objects beyond this are cleared, so each input runs against a small, varied state.
    static let maxObjects = 300

    let controller: Controller

    private init() {
        guard let url = ProcessInfo.processInfo.environment["FUZZ_DATABASE_URL"] else {
            fatalError("FUZZ_DATABASE_URL must name a database of the fuzzer's own (scripts/fuzz makes one)")
        }
        var settings = ReconcilerSettings()
        settings.enabled = false
        var configuration = ServeConfiguration(databaseURL: url)
        configuration.port = 0
        configuration.bindAddress = "127.0.0.1"
        let (c, s) = (configuration, settings)
        controller = wait { try await Controller.start(c, logger: Logger(level: .error), reconcilerSettings: s) }
    }

    func check(body: Data, json: Bool, dryRun: Bool) {
        var start = digest()
        if start.objects > Self.maxObjects {
            clear()
            start = digest()
        }
        let response = apply(body, json: json, dryRun: dryRun)
        require(response.status < 500, "status \(response.status): \(text(response))")
        require((try? JSONSerialization.jsonObject(with: response.body)) != nil, "a body that is not JSON: \(text(response))")
        if response.status >= 400 || dryRun {
            require(digest() == start, "a \(dryRun ? "dry run" : "refused apply (\(response.status))") changed what is stored: \(text(response))")
            return
        }
        let after = digest()
        let again = apply(body, json: json, dryRun: false)
        if again.status == 409, text(again).contains("resourceVersion") { return }
        require(again.status == 200, "the same apply again: status \(again.status): \(text(again))")
        let actions = Self.actions(again)
        require(!actions.isEmpty && actions.allSatisfy { $0 == "unchanged" }, "the same apply again changed objects: \(text(again))")
        require(digest() == after, "the same apply again changed what is stored")
    }

    private func apply(_ body: Data, json: Bool, dryRun: Bool) -> HTTPResponse {
        let request = HTTPRequest(method: "POST", path: "/v1/apply", query: dryRun ? ["dryRun": "true"] : [:],
                                  headers: ["content-type": json ? "application/json" : "application/yaml"], body: body)
        let router = controller.router
        return wait { await router.respond(to: request) }
    }

    /// What is stored, in one value: the number of objects and a hash of every row's content.
    struct Digest: Equatable { var objects: Int; var hash: String }

    private func digest() -> Digest {
        let db = controller.db
        let row = wait {
            try await db.query("""
                SELECT (SELECT count(*) FROM pool.pools) + (SELECT count(*) FROM pool.agent_templates)
                       + (SELECT count(*) FROM pool.agents) AS objects,
                       md5(concat_ws('#',
                           (SELECT string_agg(concat_ws('|', name, spec, labels, generation, resource_version), ',' ORDER BY name) FROM pool.pools),
                           (SELECT string_agg(concat_ws('|', name, spec, labels, generation, resource_version), ',' ORDER BY name) FROM pool.agent_templates),
                           (SELECT string_agg(concat_ws('|', name, spec, labels, generation, resource_version, owner_id, template), ',' ORDER BY name) FROM pool.agents))) AS hash
                """).first!
        }
        do {
            return Digest(objects: try row.decode("objects"), hash: try row.decode("hash"))
        } catch {
            fatalError("digest: \(error)")
        }
    }

    private func clear() {
        let db = controller.db
        _ = wait { try await db.query("TRUNCATE pool.agents, pool.agent_templates, pool.pools, pool.events CASCADE") }
    }

    private static func actions(_ response: HTTPResponse) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let results = object["results"] as? [[String: Any]] else { return [] }
        return results.compactMap { $0["action"] as? String }
    }

    private func text(_ response: HTTPResponse) -> String { String(decoding: response.body.prefix(2000), as: UTF8.self) }

    private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("apply property broken: \(message())") }
    }
}

/// Runs async work to completion from a thread outside Swift's pool. A thrown error traps: the
/// harness's own database calls are expected to work.
func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> T {
    let result = Locked<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        // The outcome lives only inside these scopes, so the task holds no copy of it by the time
        // it signals.
        do {
            let value = try await body()
            result.withLock { $0 = .success(value) }
        } catch {
            result.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    // Taken out, not copied: the task still holds `result` for a moment after signalling, and a
    // response left in it would outlive the input. libFuzzer then sees more allocations than frees
    // and asks LeakSanitizer, which reported the still-live body of a 4xx as leaked (2026-12-01,
    // one input in about 9,400; its reproducer did not leak when replayed alone).
    switch result.withLock({ $0.take() })! {
    case .success(let value): return value
    case .failure(let error): fatalError("harness call failed: \(error)")
    }
}
