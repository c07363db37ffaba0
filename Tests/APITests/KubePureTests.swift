import Foundation
import Testing
import AppTestSupport
import API
import Store
import Resources

/// The pure parts of the Kubernetes API, as tables: merge and JSON patches, selectors, ages.
@Suite struct KubePureTests {
    static func json(_ text: String) -> JSONValue { try! JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    @Test(arguments: [
        (#"{"a":1,"b":{"c":2,"d":3}}"#, #"{"b":{"c":null,"e":4}}"#, #"{"a":1,"b":{"d":3,"e":4}}"#),
        (#"{"a":[1,2]}"#, #"{"a":[3]}"#, #"{"a":[3]}"#),
        (#"{"a":1}"#, #"{"a":null,"b":"x"}"#, #"{"b":"x"}"#),
        (#"{"spec":{"minIdle":3}}"#, #"{"spec":{"minIdle":4}}"#, #"{"spec":{"minIdle":4}}"#),
    ])
    func mergePatch(target: String, patch: String, expected: String) {
        #expect(KubePatch.merge(Self.json(target), Self.json(patch)) == Self.json(expected))
    }

    @Test(arguments: [
        (#"{"a":{"b":1}}"#, #"[{"op":"replace","path":"/a/b","value":2}]"#, #"{"a":{"b":2}}"#),
        (#"{"a":[1,2]}"#, #"[{"op":"add","path":"/a/-","value":3},{"op":"add","path":"/a/0","value":0}]"#, #"{"a":[0,1,2,3]}"#),
        (#"{"a":{"b~c":1,"d/e":2}}"#, #"[{"op":"remove","path":"/a/b~0c"},{"op":"remove","path":"/a/d~1e"}]"#, #"{"a":{}}"#),
        (#"{"a":1}"#, #"[{"op":"test","path":"/a","value":1},{"op":"add","path":"/b","value":true}]"#, #"{"a":1,"b":true}"#),
    ])
    func jsonPatch(target: String, patch: String, expected: String) throws {
        #expect(try KubePatch.json(Self.json(target), Self.json(patch)) == Self.json(expected))
    }

    @Test(arguments: [
        #"[{"op":"replace","path":"/missing","value":1}]"#,
        #"[{"op":"test","path":"/a","value":2}]"#,
        #"[{"op":"move","from":"/a","path":"/b"}]"#,
        #"[{"op":"remove","path":"/a/0"}]"#,
        #"{"op":"add"}"#,
    ])
    func badJSONPatchesAreRefused(patch: String) {
        #expect(throws: KubeStatus.self) { try KubePatch.json(Self.json(#"{"a":1}"#), Self.json(patch)) }
    }

    @Test(arguments: [
        ("team=growth", true), ("team==growth", true), ("team!=growth", false), ("team", true), ("!team", false),
        ("tier", false), ("!tier", true), ("team in (growth,ops)", true), ("team notin (growth)", false),
        ("team=growth,env=prod", true), ("team=growth,env=dev", false), ("", true),
    ])
    func labelSelectors(selector: String, matches: Bool) throws {
        let object = Self.json(#"{"metadata":{"name":"a","labels":{"team":"growth","env":"prod"}}}"#)
        #expect(try KubeSelector(label: selector, field: nil).matches(object) == matches)
    }

    @Test func fieldSelectorsNameAnObjectAndRefuseOtherFields() throws {
        let object = Self.json(#"{"metadata":{"name":"alice"}}"#)
        #expect(try KubeSelector(label: nil, field: "metadata.name=alice").matches(object))
        #expect(try !KubeSelector(label: nil, field: "metadata.name!=alice").matches(object))
        #expect(try !KubeSelector(label: nil, field: "metadata.name==bob").matches(object))
        #expect(throws: KubeStatus.self) { try KubeSelector(label: nil, field: "spec.owner=x") }
        #expect(throws: KubeStatus.self) { try KubeSelector(label: "=x", field: nil) }
    }

    @Test(arguments: [(45.0, "45s"), (200, "3m20s"), (2520, "42m"), (18_720, "5h12m"), (100_000, "27h"), (273_600, "3d4h"), (3_888_000, "45d")])
    func ages(seconds: Double, shown: String) {
        #expect(KubeTable.humanAge(seconds) == shown)
    }

    @Test func aManifestFromAnObjectTakesTheRoutesKindAndName() throws {
        let object = Self.json(#"{"metadata":{"name":"p","uid":"u","creationTimestamp":"2026-01-01T00:00:00Z","annotations":{"a":"b"}},"spec":{"minIdle":1,"maxInstances":2,"image":"ghcr.io/a/b:c"}}"#)
        let manifest = try KubeObject.manifest(object, kind: .pool, name: "p")
        #expect(manifest.kind == .pool && manifest.name == "p" && manifest.annotations == ["a": "b"])
        #expect(throws: KubeStatus.self) { try KubeObject.manifest(object, kind: .pool, name: "q") }
        #expect(throws: KubeStatus.self) { try KubeObject.manifest(object, kind: .agent, name: "p") }
    }

    /// Versions are taken at commit, nearly in order: a gap waits for its commit until the change
    /// after it is 5 s old, then is given up.
    @Test(arguments: [
        ("contiguous", 10, [(11, 0.1), (12, 0.0)], 2, false),
        ("a fresh gap stops reading", 10, [(11, 0.1), (13, 0.1), (14, 0.0)], 1, true),
        ("a gap at the start", 10, [(12, 1.0)], 0, true),
        ("an old gap is given up", 10, [(11, 9.0), (13, 6.0), (14, 0.2)], 3, false),
        ("nothing new", 10, [], 0, false),
    ])
    func changeOrder(_ name: String, position: Int, rows: [(Int, Double)], readable: Int, blocked: Bool) {
        let result = KubeChangeOrder.readable(after: position, rows.map { KubeChangeOrder.Row(rv: $0.0, age: $0.1) }, settle: 5)
        #expect(result.count == readable && result.blocked == blocked, "\(name)")
    }

    @Test func aListsVersionIsTheSettledMark() {
        let rows = [(11, 0.3), (12, 0.2), (14, 0.1)].map { KubeChangeOrder.Row(rv: $0.0, age: $0.1) }
        #expect(KubeChangeOrder.settledMark(base: 10, rows, settle: 5) == 12, "13 may still commit: a watch from 12 sees it")
        #expect(KubeChangeOrder.settledMark(base: 10, [], settle: 5) == 10)
        #expect(KubeChangeOrder.settledMark(base: 10, [KubeChangeOrder.Row(rv: 12, age: 7)], settle: 5) == 12)
    }
}
