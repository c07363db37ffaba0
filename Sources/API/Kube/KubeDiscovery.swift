import Foundation
import HTTPServer
import Resources
import Store

/// What a Kubernetes client reads before anything else: `/version`, `/api`, `/apis` (aggregated
/// discovery, v2, when asked for it; the legacy lists otherwise) and the group's resource list.
/// kubectl reads these to map `get agents` to `/apis/agents.convos.org/v1/agents`.
package enum KubeDiscovery {
    /// One resource of the API, as discovery describes it.
    package struct Resource {
        package let plural: String
        package let singular: String
        package let kind: String
        package let shortNames: [String]
        package let verbs: [String]
    }

    package static let writable = ["create", "delete", "get", "list", "patch", "update", "watch"]
    package static let resources: [Resource] = [
        Resource(plural: "pools", singular: "pool", kind: "Pool", shortNames: ["pl"], verbs: writable),
        Resource(plural: "agenttemplates", singular: "agenttemplate", kind: "AgentTemplate", shortNames: ["at", "tmpl"], verbs: writable),
        Resource(plural: "agents", singular: "agent", kind: "Agent", shortNames: ["ag"], verbs: writable),
        Resource(plural: "coupons", singular: "coupon", kind: "Coupon", shortNames: ["cp"], verbs: writable),
        Resource(plural: "instances", singular: "instance", kind: "Instance", shortNames: ["inst"], verbs: ["get", "list"]),
    ]
    /// The core group's events, for `kubectl describe` and `kubectl get events`.
    package static let events = Resource(plural: "events", singular: "event", kind: "Event", shortNames: ["ev"], verbs: ["get", "list"])

    /// The Kubernetes release this server answers as: kubectl's dispatcher picks its client by it.
    package static let version: JSONValue = .object([
        "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "convos-controller", "gitTreeState": "clean",
        "buildDate": "2026-12-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64",
    ])

    package static let aggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    /// Whether the client asked for aggregated discovery (v2) in its Accept header.
    package static func wantsAggregated(_ request: HTTPRequest) -> Bool {
        let accept = request.header("accept") ?? ""
        return accept.contains("as=APIGroupDiscoveryList") && accept.contains("v=v2;") || accept.hasSuffix("v=v2;as=APIGroupDiscoveryList")
    }

    package static func apis(_ request: HTTPRequest) -> HTTPResponse {
        if wantsAggregated(request) {
            var list = aggregated(group: KubeObject.group, resources: resources)
            if case .object(var l) = list, case .array(var items)? = l["items"], case .array(let more)? = aggregated(group: "events.k8s.io", resources: [events])["items"] {
                items += more
                l["items"] = .array(items)
                list = .object(l)
            }
            return KubeResponse.json(list, contentType: aggregatedType)
        }
        let groups: [JSONValue] = [(KubeObject.group, KubeObject.groupVersion), ("events.k8s.io", "events.k8s.io/v1")].map { group, groupVersion in
            let version: JSONValue = .object(["groupVersion": .string(groupVersion), "version": "v1"])
            return .object(["name": .string(group), "versions": .array([version]), "preferredVersion": version])
        }
        return KubeResponse.json(.object(["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)]))
    }

    package static func api(_ request: HTTPRequest) -> HTTPResponse {
        if wantsAggregated(request) {
            return KubeResponse.json(aggregated(group: "", resources: [events]), contentType: aggregatedType)
        }
        return KubeResponse.json(.object([
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": .array([.object(["clientCIDR": "0.0.0.0/0", "serverAddress": ""])]),
        ]))
    }

    package static func resourceList(groupVersion: String, _ resources: [Resource]) -> HTTPResponse {
        KubeResponse.json(.object([
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion),
            "resources": .array(resources.map { r in
                .object(["name": .string(r.plural), "singularName": .string(r.singular), "namespaced": .bool(false),
                         "kind": .string(r.kind), "verbs": .array(r.verbs.map(JSONValue.string)),
                         "shortNames": .array(r.shortNames.map(JSONValue.string)),
                         "categories": r.kind == "Event" ? .array([]) : ["convos"]])
            }),
        ]))
    }

    package static func aggregated(group: String, resources: [Resource]) -> JSONValue {
        .object([
            "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": .object([:]),
            "items": .array([.object([
                "metadata": .object(["name": .string(group)]),
                "versions": .array([.object([
                    "version": "v1", "freshness": "Current",
                    "resources": .array(resources.map { r in
                        .object(["resource": .string(r.plural), "singularResource": .string(r.singular),
                                 "responseKind": .object(["group": .string(group), "version": "v1", "kind": .string(r.kind)]),
                                 "scope": "Cluster", "verbs": .array(r.verbs.map(JSONValue.string)),
                                 "shortNames": .array(r.shortNames.map(JSONValue.string)),
                                 "categories": r.kind == "Event" ? .array([]) : ["convos"]])
                    }),
                ])]),
            ])]),
        ])
    }
}
