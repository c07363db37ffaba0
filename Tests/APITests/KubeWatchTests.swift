import Foundation
import Testing
import Reconcile
import Store
import AppTestSupport
import TestSupport

/// Watches of the Kubernetes API over real HTTP: resuming from a version, 410 Gone from before the
/// log's compaction, and a watcher that stops reading cut off while the others keep up.
@Suite struct KubeWatchTests {
    static let pools = "/apis/agents.convos.org/v1/pools"

    /// Runs curl for at most `seconds` and returns each JSON line it received.
    func watch(_ t: TestController, _ query: String, seconds: Int = 6) async -> [[String: Any]] {
        let out = await shellOutput("curl -sN --max-time \(seconds) 'http://127.0.0.1:\(t.controller.port)\(Self.pools)?watch=true&\(query)'")
        return out.output.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    @Test func aWatchResumesFromAVersionAndAnOlderOneIsGone() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        _ = try await t.apply(Specs.poolSized(2))
        let listed = try await t.client.get(Self.pools).json()
        let version = try #require((listed["metadata"] as? [String: Any])?["resourceVersion"] as? String)
        #expect((listed["items"] as? [Any])?.count == 1)
        _ = try await t.apply(Specs.poolSized(3))

        // From the list's version: only what changed after it.
        let resumed = await watch(t, "resourceVersion=\(version)&timeoutSeconds=1")
        #expect(resumed.map { $0["type"] as? String } == ["MODIFIED"], "\(resumed)")
        let spec = ((resumed.first?["object"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(spec?["minIdle"] as? Int == 3)
        // Without a version: the current objects as ADDED first.
        let fresh = await watch(t, "timeoutSeconds=1")
        #expect(fresh.first?["type"] as? String == "ADDED", "\(fresh)")
        // A version older than the compaction: one ERROR event, 410 Gone, and the stream ends.
        _ = try await t.controller.db.query("UPDATE pool.change_compaction SET rv = $1", [Int(version)! + 1])
        let gone = await watch(t, "resourceVersion=\(version)")
        #expect(gone.count == 1 && gone.first?["type"] as? String == "ERROR", "\(gone)")
        #expect((gone.first?["object"] as? [String: Any])?["code"] as? Int == 410)
        await t.stop()
    }

    /// 40 changes of a template carrying a 200 KB annotation: a watcher whose client never reads is
    /// cut off once it holds more than its buffer; one that reads gets all 40, promptly.
    @Test func aWatcherThatStopsReadingIsCutOffAndTheOthersKeepUp() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        // Both watches outlast the applies by far: on two busy cores 40 applies of 200 KB have
        // taken a minute, and a watch that ended at its timeout would lose the last versions.
        let base = "http://127.0.0.1:\(t.controller.port)/apis/agents.convos.org/v1/agenttemplates?watch=true&timeoutSeconds=300"
        let folder = "/tmp/convos-watch-\(t.controller.port)"
        _ = await shell("mkdir -p \(folder)")
        // The stalled client: a small receive buffer, a request, and then it never reads.
        try """
            import socket, time, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", \(t.controller.port)))
            s.sendall(b"GET /apis/agents.convos.org/v1/agenttemplates?watch=true&timeoutSeconds=300 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            open("\(folder)/stalled", "w").write("connected")
            time.sleep(300)
            """.write(toFile: folder + "/stall.py", atomically: true, encoding: .utf8)
        _ = await shell("python3 \(folder)/stall.py >/dev/null 2>&1 & echo $! > \(folder)/stall.pid")
        _ = await shell("curl -sN --max-time 300 '\(base)' > \(folder)/reader.txt 2>/dev/null & echo $! > \(folder)/reader.pid")
        try await eventually("both watchers are open") { await t.controller.watches.count == 2 }

        let big = String(repeating: "x", count: 200_000)
        let applying = ContinuousClock.now
        var lastApplied = applying
        for i in 1...40 {
            let r = try await t.apply("""
                apiVersion: agents.convos.org/v1
                kind: AgentTemplate
                metadata: {name: big, annotations: {payload: "\(i)-\(big)"}}
                spec: {agentName: Big, instructions: x, model: {default: a/b}}
                """)
            #expect(r.status == 200)
            lastApplied = ContinuousClock.now
        }
        print("40 applies of 200 KB took \(lastApplied - applying)")
        do {
            try await eventually("the reader has all 40 versions", timeout: .seconds(30)) {
                let text = (try? String(contentsOfFile: folder + "/reader.txt", encoding: .utf8)) ?? ""
                return text.contains("\"payload\":\"40-")
            }
        } catch {
            // What a failure needs to be understood: how far the reader got, and who was cut off.
            let text = (try? String(contentsOfFile: folder + "/reader.txt", encoding: .utf8)) ?? ""
            let last = text.split(separator: "\n").last.map { String($0.prefix(160)) } ?? "nothing"
            Issue.record("\(error); cut off: \(await t.controller.watches.cutOff), watching: \(await t.controller.watches.count), reader's last line: \(last)")
            _ = await shell("kill $(cat \(folder)/stall.pid) $(cat \(folder)/reader.pid) 2>/dev/null; rm -rf \(folder)")
            await t.stop()
            return
        }
        let took = ContinuousClock.now - lastApplied
        #expect(await t.controller.watches.cutOff == 1, "the stalled watcher was cut off")
        #expect(await t.controller.watches.count == 1, "the reader is still watching")
        #expect(took < .seconds(5), "the reader kept up: the last version reached it \(took) after it was applied")
        _ = await shell("kill $(cat \(folder)/stall.pid) $(cat \(folder)/reader.pid) 2>/dev/null; rm -rf \(folder)")
        await t.stop()
    }
}

/// Compaction keeps each object's latest change, so lists stay whole, and moves the mark that
/// watches from older versions are refused by.
@Suite struct ChangeCompactionTests {
    @Test func compactionKeepsTheLatestOfEachObjectAndMovesTheMark() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        for minIdle in [1, 2, 3] { _ = try await t.apply(Specs.poolSized(minIdle)) }
        _ = try await t.apply(Specs.conciergeTemplate)
        _ = try await t.client.send("DELETE", "/v1/agenttemplates/concierge")
        let before = try await t.count("SELECT count(*)::int AS n FROM pool.changes")
        #expect(before == 5, "3 of the pool, the template's ADDED and DELETED")
        let newest = try await t.count("SELECT max(rv)::int AS n FROM pool.changes")
        _ = try await t.controller.db.query("UPDATE pool.changes SET at = now() - interval '2 hours'")
        let lease = LeaderLease(db: t.controller.db, holder: "compactor")
        #expect(await lease.tryAcquire())
        let fence = try #require(await lease.fence())
        let removed = try await StatusWriter.compactChanges(fence, retention: .seconds(3600))
        #expect(removed == 4, "the pool's two older versions, and the deleted template's two")
        let left = try await t.controller.db.query("SELECT kind, type FROM pool.changes").rows.map { "\(try $0.decode("kind", as: String.self)) \(try $0.decode("type", as: String.self))" }
        #expect(left == ["Pool MODIFIED"])
        let mark = try await t.count("SELECT rv::int AS n FROM pool.change_compaction")
        #expect(mark == newest, "the mark is the newest version removed: the template's deletion")
        let pools = try await t.client.get("/apis/agents.convos.org/v1/pools").json()
        #expect((pools["items"] as? [Any])?.count == 1, "the list is whole")
        #expect(try await StatusWriter.compactChanges(fence, retention: .seconds(3600)) == 0)
        await t.stop()
    }
}

/// Writes of the Kubernetes API over plain HTTP: POST creates then says AlreadyExists, a merge
/// patch changes the spec, an invalid object is 422 Invalid with the field in its causes and
/// changes nothing stored.
@Suite struct KubeWriteTests {
    @Test func createThenAlreadyExistsPatchAndInvalid() async throws {
        let t = try await TestController.start(reconciler: TestController.noReconciler)
        let pools = "/apis/agents.convos.org/v1/pools"
        let json = ["Content-Type": "application/json"]
        let pool = Data(#"{"apiVersion":"agents.convos.org/v1","kind":"Pool","metadata":{"name":"p"},"spec":{"minIdle":1,"maxInstances":3,"image":"ghcr.io/a/b:c"}}"#.utf8)
        #expect(try await t.client.send("POST", pools, body: pool, headers: json).status == 201)
        let again = try await t.client.send("POST", pools, body: pool, headers: json)
        let againStatus = try again.json()
        #expect(again.status == 409 && againStatus["reason"] as? String == "AlreadyExists")
        let patched = try await t.client.send("PATCH", pools + "/p", body: Data(#"{"spec":{"minIdle":2}}"#.utf8),
                                              headers: ["Content-Type": "application/merge-patch+json"])
        let patchedObject = try patched.json()
        #expect(patched.status == 200 && (patchedObject["spec"] as? [String: Any])?["minIdle"] as? Int == 2)
        let invalid = try await t.client.send("PATCH", pools + "/p", body: Data(#"{"spec":{"minIdle":-1}}"#.utf8),
                                              headers: ["Content-Type": "application/merge-patch+json"])
        let status = try invalid.json()
        #expect(invalid.status == 422 && status["reason"] as? String == "Invalid")
        let causes = ((status["details"] as? [String: Any])?["causes"] as? [[String: Any]]) ?? []
        #expect(causes.contains { ($0["field"] as? String)?.hasPrefix("spec.minIdle") == true }, "\(status)")
        #expect(try await t.count("SELECT (spec->>'minIdle')::int AS n FROM pool.pools WHERE name = 'p'") == 2, "nothing changed")
        await t.stop()
    }
}
