import Foundation
import Resources

/// What one agent's service runs: committed in one `environmentPatchCommit`, so the first and only
/// deployment sees the image, the start command, the limits and every variable at once.
public struct ServiceDeploySpec: Sendable, Equatable {
    /// Digest-pinned: `ghcr.io/owner/name@sha256:...`.
    public var image: String
    public var startCommand: String?
    public var cpu: Double
    public var memoryGB: Double
    /// Secret values among them; this value is never logged.
    public var variables: [String: String]
    /// Variables to delete in the same commit (an old instance's account-wide keys).
    public var removed: [String] = []

    public init(image: String, startCommand: String? = nil, cpu: Double = 4, memoryGB: Double = 4, variables: [String: String] = [:]) {
        self.image = image
        self.startCommand = startCommand
        self.cpu = cpu
        self.memoryGB = memoryGB
        self.variables = variables
    }

    /// The `EnvironmentConfig` patch Railway takes: `{"services": {id: {source, deploy, variables}}}`.
    func patch(serviceID: String) -> JSONValue {
        var deploy: [String: JSONValue] = ["limitOverride": .object(["containers": .object([
            "cpu": .double(cpu), "memoryBytes": .int(Int(memoryGB * 1024 * 1024 * 1024))])])]
        if let startCommand { deploy["startCommand"] = .string(startCommand) }
        return .object(["services": .object([serviceID: .object([
            "source": .object(["image": .string(image)]),
            "deploy": .object(deploy),
            "variables": .object(variables.mapValues { .object(["value": .string($0)]) }
                .merging(removed.map { ($0, JSONValue.null) }) { kept, _ in kept }),
        ])])])
    }
}

/// The image's registry credentials (a GHCR token with read:packages), given to `serviceCreate`.
public struct RegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    public init(username: String, password: String) { self.username = username; self.password = password }
}

/// The steps of one instance's creation, as production learned them (convos-system.md section 3):
/// project, service without a source, volume at `/data`, domain, then one patch commit. Each step
/// is one call that the services layer records before the next, so a crash resumes at its step.
extension RailwayClient {
    /// `projectCreate` in the workspace, its default environment named `environmentName`.
    /// `beforeSend` runs once a token is free, just before the request: the caller records that a
    /// create may now happen (a call deferred for the pace never sent anything).
    public func createProject(name: String, environmentName: String,
                              beforeSend: (() async throws -> Void)? = nil) async throws(ProviderError) -> RailwayProject {
        guard let workspaceID else {
            throw ProviderError(.notConfigured, provider: "railway", message: "RAILWAY_WORKSPACE_ID is not set")
        }
        let data = try await call(.projectCreate, ["name": .string(name), "description": .string("Convos agent instance"),
                                                    "workspaceId": .string(workspaceID), "defaultEnvironmentName": .string(environmentName)],
                            beforeSend: beforeSend)
        let project = Self.project(data["projectCreate"] ?? .null)
        guard !project.id.isEmpty, project.environmentID != nil else {
            throw ProviderError(.terminal, provider: "railway", message: "projectCreate returned no project or environment")
        }
        return project
    }

    /// An empty service: no source, so nothing deploys until the patch commit.
    public func createService(projectID: String, environmentID: String, name: String,
                              registryCredentials: RegistryCredentials?) async throws(ProviderError) -> String {
        var variables: [String: JSONValue] = ["projectId": .string(projectID), "environmentId": .string(environmentID), "name": .string(name)]
        if let registryCredentials {
            variables["registryCredentials"] = .object(["username": .string(registryCredentials.username),
                                                        "password": .string(registryCredentials.password)])
        }
        let data = try await call(.serviceCreate, variables)
        guard let id = data["serviceCreate"]?["id"]?.stringValue else {
            throw ProviderError(.terminal, provider: "railway", message: "serviceCreate returned no id")
        }
        return id
    }

    /// The agent's state and identity live at `mountPath`, so they survive restarts and redeploys.
    public func createVolume(projectID: String, environmentID: String, serviceID: String, mountPath: String) async throws(ProviderError) -> String {
        let data = try await call(.volumeCreate, ["projectId": .string(projectID), "environmentId": .string(environmentID),
                                                   "serviceId": .string(serviceID), "mountPath": .string(mountPath)])
        guard let id = data["volumeCreate"]?["id"]?.stringValue else {
            throw ProviderError(.terminal, provider: "railway", message: "volumeCreate returned no id")
        }
        return id
    }

    /// The public domain, made before the first deploy so `RAILWAY_PUBLIC_DOMAIN` is set at boot.
    public func createDomain(environmentID: String, serviceID: String, port: Int) async throws(ProviderError) -> String {
        let data = try await call(.serviceDomainCreate, ["environmentId": .string(environmentID), "serviceId": .string(serviceID),
                                                          "targetPort": .int(port)])
        guard let domain = data["serviceDomainCreate"]?["domain"]?.stringValue else {
            throw ProviderError(.terminal, provider: "railway", message: "serviceDomainCreate returned no domain")
        }
        return domain
    }

    /// One commit of the service's whole configuration: exactly one deployment.
    public func commit(environmentID: String, serviceID: String, _ spec: ServiceDeploySpec, message: String) async throws(ProviderError) {
        _ = try await call(.environmentPatchCommit, ["environmentId": .string(environmentID), "patch": spec.patch(serviceID: serviceID),
                                                      "commitMessage": .string(message)])
    }

    /// Stores service variables without a redeploy (`skipDeploys`): the running agent gets them
    /// through `/pool/restart-gateway`, and a later deploy reads them from here.
    public func storeVariables(_ project: RailwayProject, _ variables: [String: String]) async throws(ProviderError) {
        guard let environmentID = project.environmentID, let serviceID = project.serviceID else {
            throw ProviderError(.terminal, provider: "railway", message: "project \(project.name) has no service yet")
        }
        _ = try await call(.variableCollectionUpsert, ["projectId": .string(project.id), "environmentId": .string(environmentID),
                                                        "serviceId": .string(serviceID), "variables": .object(variables.mapValues(JSONValue.string)),
                                                        "skipDeploys": .bool(true)])
    }
}

extension RailwayClient {
    /// The service's variables as stored (unrendered): names and values. Secret values: never logged.
    public func variables(_ project: RailwayProject) async throws(ProviderError) -> [String: String] {
        guard let environmentID = project.environmentID, let serviceID = project.serviceID else {
            throw ProviderError(.terminal, provider: "railway", message: "project \(project.name) has no service yet")
        }
        let data = try await call(.variables, ["projectId": .string(project.id), "environmentId": .string(environmentID), "serviceId": .string(serviceID)])
        guard case .object(let values)? = data["variables"] else { return [:] }
        return values.compactMapValues(\.stringValue)
    }
}
