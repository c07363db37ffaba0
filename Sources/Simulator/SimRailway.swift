import Foundation

/// Railway's GraphQL API (v2), routed on `operationName` as the Railway CLI's own mock backboard
/// does. Answers in the shapes of the published schema; resolver errors are HTTP 200 with `errors`.
///
/// Deployments are what the real one makes: a service created without a source has none; each
/// `environmentPatchCommit` makes one; a variable upsert makes one unless `skipDeploys`.
extension SimCloud {
    func railway(body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else {
            return railwayError("Not Authorized")
        }
        let token = String(auth.dropFirst(7))
        guard let request = jsonObject(body), let operation = request["operationName"] as? String else {
            return SimResponse.json(["errors": [["message": "Must provide query string and operationName"]]], status: 400)
        }
        railwayRequests[operation, default: 0] += 1
        // The hourly quota per token: headers on every answer, 429 once it is used up.
        var use = tokenUse[token] ?? TokenUse(windowStart: .now)
        if ContinuousClock.now - use.windowStart >= .seconds(3600) { use = TokenUse(windowStart: .now, lastProject: use.lastProject, lastVolume: use.lastVolume) }
        let resetIn = .seconds(3600) - (ContinuousClock.now - use.windowStart)
        let resetAt = Int(clock.now.timeIntervalSince1970 + Double(resetIn.components.seconds)) + 1
        var headers: [(String, String)] = []
        if let quota = options.railwayHourlyQuota {
            if use.used >= quota {
                tokenUse[token] = use
                railwayRateLimited += 1
                return SimResponse.json(["errors": [["message": "Rate limit exceeded"]]], status: 429, headers: [
                    ("Retry-After", String(resetIn.components.seconds + 1)), ("X-RateLimit-Limit", String(quota)),
                    ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", String(resetAt))])
            }
            use.used += 1
            headers = [("X-RateLimit-Limit", String(quota)), ("X-RateLimit-Remaining", String(quota - use.used)),
                       ("X-RateLimit-Reset", String(resetAt))]
        }
        // Creation limits per token, answered as Railway does: HTTP 200 with a GraphQL error.
        let limits: [String: (WritableKeyPath<TokenUse, ContinuousClock.Instant?>, Duration, String)] = [
            "ProjectCreate": (\.lastProject, options.projectCreateInterval,
                              "Only one project can be created per user every \(options.projectCreateInterval.components.seconds) seconds"),
            "VolumeCreate": (\.lastVolume, options.volumeCreateInterval, "You are creating volumes too quickly"),
        ]
        if let (last, interval, message) = limits[operation], interval > .zero {
            if let previous = use[keyPath: last], ContinuousClock.now - previous < interval {
                tokenUse[token] = use
                var answer = railwayError(message)
                answer.headers += headers
                return answer
            }
            use[keyPath: last] = .now
        }
        tokenUse[token] = use
        var answer = railwayOperation(operation, request["variables"] as? [String: Any] ?? [:])
        answer.headers += headers
        return answer
    }

    private func railwayOperation(_ operation: String, _ v: [String: Any]) -> SimResponse {
        switch operation {
        case "NotificationRules":
            return data(["notificationRules": rules.map { rule in
                ["id": rule.id, "eventTypes": rule.eventTypes, "channels": [["id": rule.id + "-webhook", "config": ["type": "webhook", "url": rule.url]]]]
            }])
        case "NotificationRuleCreate":
            let input = v["input"] as? [String: Any] ?? [:]
            guard let channel = (input["channelConfigs"] as? [[String: Any]])?.first, let url = channel["url"] as? String,
                  let events = input["eventTypes"] as? [String] else { return railwayError("Invalid input") }
            let rule = Rule(id: uuid(), url: url, eventTypes: events)
            rules.append(rule)
            record("railway", "create", "notification_rule", id: rule.id, name: "webhook")
            return data(["notificationRuleCreate": ["id": rule.id, "eventTypes": events]])
        case "ProjectCreate":
            let name = v["name"] as? String ?? "project"
            let environment = v["defaultEnvironmentName"] as? String ?? "production"
            let project = Project(id: uuid(), name: name, environmentID: uuid(), environmentName: environment)
            projects[project.id] = project
            record("railway", "create", "project", id: project.id, name: name)
            return data(["projectCreate": ["id": project.id, "name": name,
                                           "environments": ["edges": [["node": ["id": project.environmentID, "name": environment]]]]]])
        case "ServiceCreate":
            guard let projectID = v["projectId"] as? String, var project = projects[projectID], !project.deleted else {
                return railwayError("Project not found")
            }
            var service = Service(id: uuid(), projectID: projectID, name: v["name"] as? String ?? "service")
            service.registryUsername = (v["registryCredentials"] as? [String: Any])?["username"] as? String
            // An image source deploys at once (what `railway add --image` relies on); no source, no deployment.
            if let image = (v["source"] as? [String: Any])?["image"] as? String {
                service.image = image
                deploy(&service, project: project)
            }
            services[service.id] = service
            project.serviceIDs.append(service.id)
            projects[projectID] = project
            return data(["serviceCreate": ["id": service.id, "name": service.name]])
        case "VolumeCreate":
            guard let projectID = v["projectId"] as? String, let project = projects[projectID], !project.deleted,
                  let serviceID = v["serviceId"] as? String, services[serviceID] != nil else { return railwayError("Service not found") }
            // Railway allows one volume per service: a second create is refused.
            if volumes.values.contains(where: { $0.serviceID == serviceID }) { return railwayError("Service already has a volume attached; volume already exists") }
            let volume = Volume(id: uuid(), projectID: projectID, serviceID: serviceID, mountPath: v["mountPath"] as? String ?? "/data")
            volumes[volume.id] = volume
            record("railway", "create", "volume", id: volume.id, name: project.name)
            return data(["volumeCreate": ["id": volume.id, "name": "\(project.name)-volume"]])
        case "ServiceDomainCreate":
            guard let serviceID = v["serviceId"] as? String, var service = services[serviceID] else { return railwayError("Service not found") }
            // The runtime of this instance is served by the simulator itself, under /runtime/<service id>.
            let domain = baseURL.replacingOccurrences(of: "http://", with: "") + "/runtime/\(serviceID)"
            service.domain = domain
            services[serviceID] = service
            record("railway", "create", "domain", id: serviceID, name: projects[service.projectID]?.name ?? "")
            return data(["serviceDomainCreate": ["id": uuid(), "domain": domain]])
        case "EnvironmentPatchCommit":
            return patchCommit(environmentID: v["environmentId"] as? String, patch: v["patch"] as? [String: Any] ?? [:])
        case "VariableCollectionUpsert":
            guard let serviceID = v["serviceId"] as? String, var service = services[serviceID],
                  let project = projects[service.projectID] else { return railwayError("Service not found") }
            service.variables.merge(v["variables"] as? [String: String] ?? [:]) { _, new in new }
            if v["skipDeploys"] as? Bool != true { deploy(&service, project: project) }
            services[serviceID] = service
            return data(["variableCollectionUpsert": true])
        case "Variables":
            guard let serviceID = v["serviceId"] as? String, let service = services[serviceID] else { return railwayError("Service not found") }
            return data(["variables": service.variables])
        case "ProjectDelete":
            guard let id = v["id"] as? String, var project = projects[id], !project.deleted else { return railwayError("Project not found") }
            project.deleted = true
            projects[id] = project
            record("railway", "delete", "project", id: id, name: project.name)
            return data(["projectDelete": true])
        case "ServiceDelete":
            guard let id = v["id"] as? String, let service = services[id], var project = projects[service.projectID] else {
                return railwayError("Service not found")
            }
            project.serviceIDs.removeAll { $0 == id }
            projects[project.id] = project
            services[id] = nil
            record("railway", "delete", "service", id: id, name: project.name)
            // Its volume goes with it, as Railway deletes a service's attached volume.
            for volume in volumes.values where volume.serviceID == id {
                volumes[volume.id] = nil
                record("railway", "delete", "volume", id: volume.id, name: project.name)
            }
            return data(["serviceDelete": true])
        case "Project":
            guard let id = v["id"] as? String, let project = projects[id], !project.deleted else { return railwayError("Project not found") }
            return data(["project": projectNode(project)])
        case "Projects":
            let live = liveProjectIDs ?? projects.values.filter { !$0.deleted }.map(\.id).sorted()
            liveProjectIDs = live
            let first = v["first"] as? Int ?? 100
            // The cursor is the last id of the page before: found by bisection in the sorted ids.
            let start = (v["after"] as? String).map { cursor in
                var low = 0, high = live.count
                while low < high { let mid = (low + high) / 2; if live[mid] <= cursor { low = mid + 1 } else { high = mid } }
                return low
            } ?? 0
            let page = live.dropFirst(start).prefix(first).compactMap { projects[$0] }
            let onPage = Set(page.map(\.id))
            let volumesOf = Dictionary(grouping: volumes.values.filter { onPage.contains($0.projectID) }, by: \.projectID)
            return data(["projects": [
                "edges": page.map { ["node": projectNode($0, volumes: volumesOf[$0.id] ?? [])] },
                "pageInfo": ["hasNextPage": start + page.count < live.count, "endCursor": page.last?.id as Any? ?? NSNull()],
            ]])
        default:
            return SimResponse.json(["errors": [["message": "Unknown operation \(operation)"]]], status: 400)
        }
    }

    /// Benchmarks only (`POST /_sim/railway/bulk`): projects made at once, each with a service, a
    /// domain and a deployment long since `SUCCESS`, as a fleet in steady state looks. With `image`,
    /// a claimed fleet's: each runs it with a `/data` volume, its own `GATEWAY_TOKEN` and a
    /// conversation (both returned, for the rows that record them); with `idle`, no conversation
    /// yet, as a warm pool's instances. With `keys`, each has its OpenRouter key too (its hash
    /// returned), as every instance does from its creation: a key recorded but missing here is made
    /// again by the first audit (40,000 of them at once, in a benchmark that recorded keys it never made).
    func bulkProjects(_ names: [String], image: String? = nil, idle: Bool = false, keys withKeys: Bool = false) -> [[String: String]] {
        names.map { name in
            var project = Project(id: uuid(), name: name, environmentID: uuid(), environmentName: "production")
            var service = Service(id: uuid(), projectID: project.id, name: name)
            service.startCommand = Self.poolServerCommand
            service.deployments = [Deployment(id: uuid(), startedAt: .now - .seconds(3600), failed: false)]
            service.domain = baseURL.replacingOccurrences(of: "http://", with: "") + "/runtime/\(service.id)"
            project.serviceIDs = [service.id]
            var row = ["name": name, "projectId": project.id, "environmentId": project.environmentID, "serviceId": service.id]
            if let image {
                service.image = image
                let token = nextID("gw-"), conversation = "conv_" + nextID()
                service.variables = ["GATEWAY_TOKEN": token, "INSTANCE_ID": String(name.dropFirst("convos-agent-".count))]
                let volume = Volume(id: uuid(), projectID: project.id, serviceID: service.id, mountPath: "/data")
                volumes[volume.id] = volume
                row["gatewayToken"] = token
                if !idle {
                    runtimes[service.id, default: RuntimeState()].conversationId = conversation
                    row["conversationId"] = conversation
                }
            }
            if withKeys {
                let instanceID = String(name.dropFirst("convos-agent-".count))
                let key = Key(hash: nextID() + nextID(), name: "convos-\(instanceID)-openrouter", limit: nil, disabled: false,
                              createdAt: clock.now, updatedAt: nil)
                keys[key.hash] = key
                row["openrouterKey"] = key.hash
            }
            projects[project.id] = project
            services[service.id] = service
            return row
        }
    }

    /// `environmentPatchCommit`: each service in the patch takes its source, deploy settings and
    /// variables (`{"value"}`, or null to delete) and deploys once.
    private func patchCommit(environmentID: String?, patch: [String: Any]) -> SimResponse {
        guard let environmentID, let project = projects.values.first(where: { $0.environmentID == environmentID && !$0.deleted }) else {
            return railwayError("Environment not found")
        }
        for (serviceID, value) in patch["services"] as? [String: Any] ?? [:] {
            guard var service = services[serviceID], service.projectID == project.id, let config = value as? [String: Any] else {
                return railwayError("Service not found")
            }
            if let image = (config["source"] as? [String: Any])?["image"] as? String { service.image = image }
            let deploy = config["deploy"] as? [String: Any] ?? [:]
            if let command = deploy["startCommand"] as? String { service.startCommand = command }
            let containers = (deploy["limitOverride"] as? [String: Any])?["containers"] as? [String: Any]
            if let bytes = containers?["memoryBytes"] as? Int { service.memoryBytes = bytes }
            for (name, entry) in config["variables"] as? [String: Any] ?? [:] {
                if let value = (entry as? [String: Any])?["value"] as? String { service.variables[name] = value } else { service.variables[name] = nil }
            }
            self.deploy(&service, project: project)
            services[serviceID] = service
        }
        return data(["environmentPatchCommit": uuid()])
    }

    /// Starts a deployment of the service's current configuration; the runtime restarts with it.
    private func deploy(_ service: inout Service, project: Project) {
        let running = image(service)
        let deployment = Deployment(id: uuid(), startedAt: .now, failed: running.crashes || Double.random(in: 0..<1) < options.deployFailRate,
                                    crashed: running.crashes)
        // A new container: what it held survives only on the `/data` volume, and not on an image that loses it.
        let kept = volumes.values.contains { $0.serviceID == service.id } && !running.losesConversation
        if !kept, !service.deployments.isEmpty { runtimes[service.id, default: RuntimeState()].conversationId = nil }
        service.deployments.append(deployment)
        runtimes[service.id, default: RuntimeState()].restartingUntil = nil
        record("railway", "create", "deployment", id: deployment.id, name: project.name)
        // The deployment's end is an event: posted to every rule's webhook when it happens.
        guard !rules.isEmpty else { return }
        let event: [String: Any] = [
            "type": deployment.failed ? "Deployment.failed" : "Deployment.deployed",
            "resource": ["service": ["id": service.id], "environment": ["id": project.environmentID], "project": ["id": project.id],
                         "deployment": ["id": deployment.id]],
            "details": ["status": deployment.failed ? "FAILED" : "SUCCESS"],
        ]
        let body = (try? JSONSerialization.data(withJSONObject: event)) ?? Data()
        let urls = rules.map(\.url)
        let delay = options.deployDelay
        let lost = Double.random(in: 0..<1) < options.webhookLossRate
        if lost { webhooksLost += 1 } else { webhooksSent += urls.count }
        guard !lost else { return }
        Task.detached { [webhooks, clock] in
            try? await clock.sleep(for: delay)
            for url in urls { await webhooks.post(url, body) }
        }
    }

    /// The deployment status a service shows now: INITIALIZING, DEPLOYING, then SUCCESS or FAILED;
    /// nil before its first deployment.
    func deploymentStatus(_ service: Service) -> String? {
        guard let latest = service.deployments.last else { return nil }
        let age = ContinuousClock.now - latest.startedAt
        if age < options.deployDelay / 2 { return "INITIALIZING" }
        if age < options.deployDelay { return "DEPLOYING" }
        return latest.crashed ? "CRASHED" : latest.failed ? "FAILED" : "SUCCESS"
    }

    private func projectNode(_ p: Project, volumes projectVolumes: [Volume]? = nil) -> [String: Any] {
        let serviceEdges: [[String: Any]] = p.serviceIDs.compactMap { services[$0] }.map { s in
            let latest: Any = s.deployments.last.map { ["id": $0.id, "status": deploymentStatus(s) ?? "QUEUED"] as [String: Any] } ?? NSNull()
            return ["node": ["id": s.id, "name": s.name, "serviceInstances": ["edges": [["node": [
                "environmentId": p.environmentID,
                "latestDeployment": latest,
                "domains": ["serviceDomains": s.domain.map { [["domain": $0]] } ?? []],
            ] as [String: Any]]]]] as [String: Any]]
        }
        let volumeEdges: [[String: Any]] = (projectVolumes ?? volumes.values.filter { $0.projectID == p.id }).sorted { $0.id < $1.id }.map { v in
            ["node": ["id": v.id, "volumeInstances": ["edges": [["node": ["mountPath": v.mountPath, "serviceId": v.serviceID]]]]]]
        }
        return ["id": p.id, "name": p.name,
                "environments": ["edges": [["node": ["id": p.environmentID, "name": p.environmentName]]]],
                "services": ["edges": serviceEdges],
                "volumes": ["edges": volumeEdges]]
    }

    private func data(_ object: [String: Any]) -> SimResponse { .json(["data": object]) }

    private func railwayError(_ message: String) -> SimResponse {
        .json(["errors": [["message": message]], "data": NSNull()])
    }
}
