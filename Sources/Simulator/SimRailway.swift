import Foundation

/// Railway's GraphQL API (v2), routed on `operationName` as the Railway CLI's own mock backboard
/// does. Answers in the shapes of the published schema; resolver errors are HTTP 200 with `errors`.
extension SimCloud {
    func railway(body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else {
            return railwayError("Not Authorized")
        }
        guard let request = jsonObject(body), let operation = request["operationName"] as? String else {
            return SimResponse.json(["errors": [["message": "Must provide query string and operationName"]]], status: 400)
        }
        let v = request["variables"] as? [String: Any] ?? [:]
        switch operation {
        case "ProjectCreate":
            let name = v["name"] as? String ?? "project"
            let project = Project(id: uuid(), name: name, environmentID: uuid(), serviceIDs: [])
            projects[project.id] = project
            record("railway", "create", "project", id: project.id, name: name)
            return data(["projectCreate": ["id": project.id, "name": name,
                                           "environments": ["edges": [["node": ["id": project.environmentID, "name": "production"]]]]]])
        case "ServiceCreate":
            guard let projectID = v["projectId"] as? String, var project = projects[projectID], !project.deleted else {
                return railwayError("Project not found")
            }
            let source = v["source"] as? [String: Any]
            let service = Service(id: uuid(), projectID: projectID, name: v["name"] as? String ?? "service",
                                  image: source?["image"] as? String ?? "", variables: v["variables"] as? [String: String] ?? [:],
                                  domain: nil, deployedAt: .now, failed: Double.random(in: 0..<1) < options.deployFailRate)
            services[service.id] = service
            project.serviceIDs.append(service.id)
            projects[projectID] = project
            return data(["serviceCreate": ["id": service.id, "name": service.name]])
        case "ServiceDomainCreate":
            guard let serviceID = v["serviceId"] as? String, var service = services[serviceID] else { return railwayError("Service not found") }
            // The runtime of this instance is served by the simulator itself, under /runtime/<service id>.
            let domain = baseURL.replacingOccurrences(of: "http://", with: "") + "/runtime/\(serviceID)"
            service.domain = domain
            services[serviceID] = service
            return data(["serviceDomainCreate": ["id": uuid(), "domain": domain]])
        case "VariableCollectionUpsert":
            guard let serviceID = v["serviceId"] as? String, var service = services[serviceID] else { return railwayError("Service not found") }
            service.variables.merge(v["variables"] as? [String: String] ?? [:]) { _, new in new }
            service.deployedAt = .now
            services[serviceID] = service
            return data(["variableCollectionUpsert": true])
        case "ServiceInstanceUpdate":
            guard let serviceID = v["serviceId"] as? String, var service = services[serviceID] else { return railwayError("Service not found") }
            if let image = ((v["input"] as? [String: Any])?["source"] as? [String: Any])?["image"] as? String { service.image = image }
            services[serviceID] = service
            return data(["serviceInstanceUpdate": true])
        case "ServiceInstanceDeployV2":
            guard let serviceID = v["serviceId"] as? String, var service = services[serviceID] else { return railwayError("Service not found") }
            service.deployedAt = .now
            services[serviceID] = service
            return data(["serviceInstanceDeployV2": uuid()])
        case "ProjectDelete":
            guard let id = v["id"] as? String, var project = projects[id], !project.deleted else { return railwayError("Project not found") }
            project.deleted = true
            projects[id] = project
            record("railway", "delete", "project", id: id, name: project.name)
            return data(["projectDelete": true])
        case "Projects":
            let live = projects.values.filter { !$0.deleted }.sorted { $0.id < $1.id }
            let first = v["first"] as? Int ?? 100
            let start = (v["after"] as? String).flatMap { cursor in live.firstIndex { $0.id == cursor }.map { $0 + 1 } } ?? 0
            let page = Array(live.dropFirst(start).prefix(first))
            return data(["projects": [
                "edges": page.map { ["node": projectNode($0)] },
                "pageInfo": ["hasNextPage": start + page.count < live.count, "endCursor": page.last?.id as Any? ?? NSNull()],
            ]])
        default:
            return SimResponse.json(["errors": [["message": "Unknown operation \(operation)"]]], status: 400)
        }
    }

    /// The deployment status a service shows now: INITIALIZING, DEPLOYING, then SUCCESS or FAILED.
    func deploymentStatus(_ service: Service) -> String {
        let age = ContinuousClock.now - service.deployedAt
        if age < options.deployDelay / 2 { return "INITIALIZING" }
        if age < options.deployDelay { return "DEPLOYING" }
        return service.failed ? "FAILED" : "SUCCESS"
    }

    private func projectNode(_ p: Project) -> [String: Any] {
        let serviceEdges: [[String: Any]] = p.serviceIDs.compactMap { services[$0] }.map { s in
            ["node": ["id": s.id, "name": s.name, "serviceInstances": ["edges": [["node": [
                "environmentId": p.environmentID,
                "latestDeployment": ["id": s.id + "-d", "status": deploymentStatus(s)],
                "domains": ["serviceDomains": s.domain.map { [["domain": $0]] } ?? []],
            ] as [String: Any]]]]] as [String: Any]]
        }
        return ["id": p.id, "name": p.name,
                "environments": ["edges": [["node": ["id": p.environmentID, "name": "production"]]]],
                "services": ["edges": serviceEdges]]
    }

    private func data(_ object: [String: Any]) -> SimResponse { .json(["data": object]) }

    private func railwayError(_ message: String) -> SimResponse {
        .json(["errors": [["message": message]], "data": NSNull()])
    }
}
