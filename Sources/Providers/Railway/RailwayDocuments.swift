/// The GraphQL documents the Railway client sends: the `.graphql` files beside this one, compiled
/// in. Each is validated against Railway's published schema by `scripts/test`.
enum RailwayDocument: String, CaseIterable, Sendable {
    case projectCreate = "ProjectCreate"
    case serviceCreate = "ServiceCreate"
    case volumeCreate = "VolumeCreate"
    case serviceDomainCreate = "ServiceDomainCreate"
    case environmentPatchCommit = "EnvironmentPatchCommit"
    case variableCollectionUpsert = "VariableCollectionUpsert"
    case project = "Project"
    case projects = "Projects"
    case projectDelete = "ProjectDelete"
    case serviceDelete = "ServiceDelete"
    case notificationRules = "NotificationRules"
    case notificationRuleCreate = "NotificationRuleCreate"
    case variables = "Variables"

    var text: String {
        let bytes: [UInt8]
        switch self {
        case .projectCreate: bytes = PackageResources.ProjectCreate_graphql
        case .serviceCreate: bytes = PackageResources.ServiceCreate_graphql
        case .volumeCreate: bytes = PackageResources.VolumeCreate_graphql
        case .serviceDomainCreate: bytes = PackageResources.ServiceDomainCreate_graphql
        case .environmentPatchCommit: bytes = PackageResources.EnvironmentPatchCommit_graphql
        case .variableCollectionUpsert: bytes = PackageResources.VariableCollectionUpsert_graphql
        case .project: bytes = PackageResources.Project_graphql
        case .projects: bytes = PackageResources.Projects_graphql
        case .projectDelete: bytes = PackageResources.ProjectDelete_graphql
        case .serviceDelete: bytes = PackageResources.ServiceDelete_graphql
        case .notificationRules: bytes = PackageResources.NotificationRules_graphql
        case .notificationRuleCreate: bytes = PackageResources.NotificationRuleCreate_graphql
        case .variables: bytes = PackageResources.Variables_graphql
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Mutations that create are not safe to repeat (Railway has no idempotency keys); a patch
    /// commit is not either: each one is a deployment. Everything else is.
    var idempotent: Bool { ![.projectCreate, .serviceCreate, .volumeCreate, .serviceDomainCreate, .environmentPatchCommit, .notificationRuleCreate].contains(self) }
}
