import Foundation
import Resources

/// Computes each object's status from a tick's view. Pure; a condition keeps its
/// `lastTransitionTime` while its status stays the same, so an unchanged world writes nothing.
enum StatusBuilder {
    static func agent(_ agent: AgentView, generation: Int, previous: AgentStatus?, instance: InstanceView?,
                      template: TemplateView?, now: Date) -> AgentStatus {
        var status = AgentStatus()
        status.instanceId = instance?.id
        status.url = instance?.url
        status.observedGeneration = generation
        status.templateGeneration = instance?.templateGeneration
        status.templateSyncedAt = previous?.templateGeneration == instance?.templateGeneration ? previous?.templateSyncedAt : (instance?.templateGeneration != nil ? now : nil)
        let tools = template?.spec.toolNames ?? []
        let toolsReady = instance != nil && tools.allSatisfy { instance?.tools[$0.rawValue] == "ready" }
        let synced = instance?.templateGeneration != nil && instance?.templateGeneration == template?.generation
        let errors = instance?.toolErrors.values.joined(separator: "; ") ?? ""
        let toolsReason = toolsReady ? (tools.isEmpty ? "NoTools" : "Provisioned")
            : errors.contains("notConfigured") ? "ProviderNotConfigured" : errors.contains("Bankr key available") ? "BankrPoolEmpty"
            : instance == nil ? "WaitingForInstance" : "Provisioning"
        let ready = toolsReady && synced && (instance?.deployed ?? false)
        let conditions: [(AgentConditionType, Bool, String, String)] = [
            (.claimed, instance != nil, instance != nil ? "Bound" : "WaitingForInstance", instance.map { "instance \($0.id)" } ?? "no idle instance yet"),
            (.toolsReady, toolsReady, toolsReason, toolsReady ? tools.map(\.rawValue).joined(separator: ",") : errors),
            (.templateSynced, synced, synced ? "Synced" : "Pending", template.map { "template \($0.name) generation \($0.generation)" } ?? "template missing"),
            (.ready, ready, ready ? "Ready" : "NotReady", ""),
        ]
        status.conditions = conditions.map { type, ok, reason, message in
            let value = ok ? "True" : "False"
            let old = previous?.conditions.first { $0.type == type.rawValue }
            let since = old?.status == value ? old!.lastTransitionTime : now
            return Condition(type: type.rawValue, status: value, reason: reason, message: message, lastTransitionTime: since, observedGeneration: generation)
        }
        if agent.deleting { status.phase = .terminating }
        else if ready { status.phase = .ready }
        else if instance?.state == .failed { status.phase = .failed }
        else if instance == nil { status.phase = .pending }
        else { status.phase = .provisioning }
        return status
    }

    static func pool(_ pool: PoolView, generation: Int, previous: PoolStatus?, instances: [InstanceView]) -> PoolStatus {
        var status = PoolStatus()
        status.observedGeneration = generation
        status.imageDigest = pool.digest ?? previous?.imageDigest
        let mine = instances.filter { $0.pool == pool.name }
        status.idle = mine.filter { $0.state == .idle }.count
        status.provisioning = mine.filter { $0.state == .provisioning }.count
        status.claimed = mine.filter { $0.state == .claimed }.count
        status.failed = mine.filter { $0.state == .failed }.count
        status.deleting = mine.filter { $0.state == .deleting }.count
        status.conditions = previous?.conditions ?? []
        return status
    }
}
