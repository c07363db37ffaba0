/// The GraphQL documents the Railway client sends: the `.graphql` files beside this one, compiled
/// in. Each is validated against Railway's published schema by `scripts/test`.
enum RailwayDocument: String, CaseIterable, Sendable {
    case projectCreate = "ProjectCreate"
    case serviceCreate = "ServiceCreate"
    case serviceDomainCreate = "ServiceDomainCreate"
    case variableCollectionUpsert = "VariableCollectionUpsert"
    case serviceInstanceUpdate = "ServiceInstanceUpdate"
    case serviceInstanceDeployV2 = "ServiceInstanceDeployV2"
    case projectDelete = "ProjectDelete"
    case projects = "Projects"

    var text: String {
        let bytes: [UInt8]
        switch self {
        case .projectCreate: bytes = PackageResources.ProjectCreate_graphql
        case .serviceCreate: bytes = PackageResources.ServiceCreate_graphql
        case .serviceDomainCreate: bytes = PackageResources.ServiceDomainCreate_graphql
        case .variableCollectionUpsert: bytes = PackageResources.VariableCollectionUpsert_graphql
        case .serviceInstanceUpdate: bytes = PackageResources.ServiceInstanceUpdate_graphql
        case .serviceInstanceDeployV2: bytes = PackageResources.ServiceInstanceDeployV2_graphql
        case .projectDelete: bytes = PackageResources.ProjectDelete_graphql
        case .projects: bytes = PackageResources.Projects_graphql
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Mutations that create are not safe to repeat; everything else is.
    var idempotent: Bool { ![.projectCreate, .serviceCreate, .serviceDomainCreate].contains(self) }
}
