import Foundation
import Testing
import CLI
import AppTestSupport
import TestSupport

/// The real `kubectl` against `serve --simulate` over HTTPS with a bearer token: discovery,
/// OpenAPI v3 (server-side validation), apply, diff, get (tables, YAML, watch), wait, describe
/// with events, replace with a stale version, delete that waits for the teardown.
@Suite struct KubernetesAPITests {
    /// A controller serving HTTPS on loopback with a throwaway certificate, and a kubeconfig for it.
    struct Cluster {
        let t: TestController
        let folder: String
        var kubeconfig: String { folder + "/kubeconfig" }

        static func start() async throws -> Cluster {
            let folder = "/tmp/convos-kube-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let t = try await TestController.start(token: "kube-test-token", simulate: true) { c in
                c.selfSignedTLS = true
                c.tlsCertFile = folder + "/tls.crt"
                c.tlsKeyFile = folder + "/tls.key"
            }
            let config = try KubeconfigCommand.run([], environment: [
                "CONTROLLER_URL": "https://127.0.0.1:\(t.controller.port)", "CONTROLLER_API_TOKEN": "kube-test-token",
                "TLS_CERT_FILE": folder + "/tls.crt"])
            try config.write(toFile: folder + "/kubeconfig", atomically: true, encoding: .utf8)
            return Cluster(t: t, folder: folder)
        }

        /// Runs kubectl with the kubeconfig; stderr joins stdout.
        func kubectl(_ arguments: String) async -> (status: Int32, output: String) {
            await shellOutput("KUBECONFIG=\(kubeconfig) kubectl \(arguments) </dev/null", mergeErrors: true)
        }

        func stop() async {
            await t.stop()
            _ = await shell("rm -rf \(folder)")
        }
    }

    @Test func kubectlAppliesGetsWatchesWaitsDescribesAndDeletes() async throws {
        let c = try await Cluster.start()
        let specs = Repo.root + "/specs"
        // A watch from before the agents exist, to see their phases change.
        let watchFile = c.folder + "/watch.txt"
        _ = await shell("KUBECONFIG=\(c.kubeconfig) timeout 120 kubectl get agents -w > \(watchFile) 2>&1 &")

        let first = await c.kubectl("apply -f \(specs)")
        #expect(first.status == 0, "\(first.output)")
        for object in ["pool.agents.convos.org/default", "agenttemplate.agents.convos.org/concierge", "agenttemplate.agents.convos.org/planner",
                       "agent.agents.convos.org/alice-planner", "agent.agents.convos.org/alice-concierge"] {
            #expect(first.output.contains("\(object) created"), "\(first.output)")
        }
        let second = await c.kubectl("apply -f \(specs)")
        #expect(second.status == 0 && second.output.components(separatedBy: " unchanged").count - 1 == 5, "\(second.output)")

        let same = await c.kubectl("diff -f \(specs)")
        #expect(same.status == 0, "no change: \(same.output)")
        _ = await shell("sed 's/minIdle: 3/minIdle: 4/' \(specs)/01-pool.yaml > \(c.folder)/pool.yaml")
        let changed = await c.kubectl("diff -f \(c.folder)/pool.yaml")
        #expect(changed.status == 1 && changed.output.contains("+  minIdle: 4"), "\(changed.output)")

        try """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: broken}
            spec: {agentName: Broken, instructions: x, model: {default: a/b}, tools: [{id: fax}]}
            """.write(toFile: c.folder + "/bad.yaml", atomically: true, encoding: .utf8)
        let invalid = await c.kubectl("apply -f \(c.folder)/bad.yaml")
        #expect(invalid.status != 0 && invalid.output.contains("is invalid") && invalid.output.contains("spec.tools"), "\(invalid.output)")

        let ready = await c.kubectl("wait --for=condition=Ready agent/alice-planner --timeout=60s")
        #expect(ready.status == 0 && ready.output.contains("condition met"), "\(ready.output)")
        let table = await c.kubectl("get agents")
        let header = table.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "TEMPLATE", "OWNER", "PHASE", "READY", "INSTANCE", "INVITE", "AGE"],
                "\(table.output)")
        try await eventually("the watch shows alice-planner Ready after an earlier phase") {
            let lines = ((try? String(contentsOfFile: watchFile, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("alice-planner ") }
            let phases = lines.compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init) }
            return phases.last == "Ready" && Set(phases).count >= 2
        }

        // -o yaml round-trips: what get prints, apply takes back (server-set fields and all).
        let yaml = await c.kubectl("get agenttemplate concierge -o yaml")
        #expect(yaml.output.contains("uid:") && yaml.output.contains("creationTimestamp:") && yaml.output.contains("last-applied-configuration"))
        try yaml.output.replacingOccurrences(of: #"(?m)^  resourceVersion: .*\n"#, with: "", options: .regularExpression)
            .write(toFile: c.folder + "/concierge.yaml", atomically: true, encoding: .utf8)
        let back = await c.kubectl("apply -f \(c.folder)/concierge.yaml")
        #expect(back.status == 0 && back.output.contains("agenttemplate.agents.convos.org/concierge"), "\(back.output)")

        // A Coupon through kubectl: its code is kept nowhere it can be read back, not even in
        // kubectl's last-applied annotation.
        try "apiVersion: agents.convos.org/v1\nkind: Coupon\nmetadata: {name: kube-coupon}\nspec: {code: KUBE-Sekr3t-code, incrementUsd: 5, maxUsd: 50}\n"
            .write(toFile: c.folder + "/coupon.yaml", atomically: true, encoding: .utf8)
        let couponApplied = await c.kubectl("apply -f \(c.folder)/coupon.yaml")
        #expect(couponApplied.status == 0 && couponApplied.output.contains("coupon.agents.convos.org/kube-coupon created"), "\(couponApplied.output)")
        let coupon = await c.kubectl("get coupon kube-coupon -o yaml")
        #expect(coupon.status == 0 && coupon.output.contains("incrementUsd") && !coupon.output.contains("KUBE-Sekr3t-code") && !coupon.output.contains("codeSha256"),
                "\(coupon.output)")

        // A stale resourceVersion is a Conflict.
        let stale = yaml.output.replacingOccurrences(of: #"resourceVersion: "\d+""#, with: #"resourceVersion: "1""#, options: .regularExpression)
        try stale.write(toFile: c.folder + "/stale.yaml", atomically: true, encoding: .utf8)
        let conflict = await c.kubectl("replace -f \(c.folder)/stale.yaml")
        #expect(conflict.status != 0 && conflict.output.contains("Conflict"), "\(conflict.output)")

        let described = await c.kubectl("describe agent alice-planner")
        #expect(described.output.contains("Conditions:") && described.output.contains("Events:") && described.output.contains("Configured"),
                "\(described.output)")

        // Delete returns once the teardown is done; nothing of the instance is left in the cloud.
        let instanceID = await c.kubectl("get agent alice-concierge -o jsonpath={.status.instanceId}").output
        #expect(instanceID.count >= 6, "\(instanceID)")
        let deleted = await c.kubectl("delete agent alice-concierge --timeout=60s")
        #expect(deleted.status == 0 && deleted.output.contains("deleted"), "\(deleted.output)")
        let gone = await c.kubectl("get agent alice-concierge")
        #expect(gone.status != 0 && gone.output.contains("NotFound"), "\(gone.output)")
        #expect(await c.t.controller.simulator!.ledger().allSatisfy { !$0.name.contains(instanceID) }, "the teardown left nothing of \(instanceID)")

        // A wrong token is Unauthorized, and so is none.
        let wrong = await shellOutput("kubectl --server https://127.0.0.1:\(c.t.controller.port) --certificate-authority \(c.folder)/tls.crt --token nope get agents </dev/null", mergeErrors: true)
        #expect(wrong.status != 0 && wrong.output.contains("Unauthorized"), "\(wrong.output)")
        let none = await shellOutput("curl -s --cacert \(c.folder)/tls.crt https://127.0.0.1:\(c.t.controller.port)/apis/agents.convos.org/v1/agents")
        #expect(none.output.contains("\"reason\":\"Unauthorized\"") && none.output.contains("\"code\":401"), "\(none.output)")
        await c.stop()
    }

    /// The Python `kubernetes` client (PyPI) lists agents and watches them with a timeout.
    @Test func thePythonKubernetesClientListsAndWatches() async throws {
        let c = try await Cluster.start()
        _ = await c.kubectl("apply -f \(Repo.root)/specs")
        let script = """
            import kubernetes
            kubernetes.config.load_kube_config(config_file="\(c.kubeconfig)")
            api = kubernetes.client.CustomObjectsApi()
            listed = api.list_cluster_custom_object("agents.convos.org", "v1", "agents")
            print("listed", sorted(i["metadata"]["name"] for i in listed["items"]), listed["metadata"]["resourceVersion"])
            w = kubernetes.watch.Watch()
            seen = set()
            for event in w.stream(api.list_cluster_custom_object, "agents.convos.org", "v1", "agents", timeout_seconds=5):
                seen.add((event["type"], event["object"]["metadata"]["name"]))
                if len(seen) >= 2:
                    w.stop()
            print("watched", sorted(seen))
            """
        try script.write(toFile: c.folder + "/client.py", atomically: true, encoding: .utf8)
        let run = await shellOutput("python3 \(c.folder)/client.py", mergeErrors: true)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("listed ['alice-concierge', 'alice-planner']"), "\(run.output)")
        #expect(run.output.contains("('ADDED', 'alice-concierge')") && run.output.contains("('ADDED', 'alice-planner')"), "\(run.output)")
        await c.stop()
    }
}
