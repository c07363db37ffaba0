import Foundation
import Resources

/// Computes each object's status from a tick's view. Pure; a condition keeps its
/// `lastTransitionTime` while its status stays the same, so an unchanged world writes nothing.
package enum StatusBuilder {
    /// `backoffs`: the work queue's failing keys; a failing step's attempts, last error and next
    /// attempt go on the condition it holds back, and on `Ready`.
    package static func agent(_ agent: AgentView, generation: Int, previous: AgentStatus?, instance: InstanceView?,
                      templates: [String: TemplateView], now: Date, backoffs: [String: WorkQueue.KeyState] = [:]) -> AgentStatus {
        var status = AgentStatus()
        status.instanceId = instance?.id
        status.url = instance?.url
        status.conversationId = instance?.conversationId
        status.inviteUrl = instance?.inviteUrl
        status.joined = instance?.joined
        status.observedGeneration = generation
        status.templateGeneration = instance?.templateGeneration
        status.runtimeVersion = instance?.runtimeVersion
        status.templateSyncedAt = previous?.templateGeneration == instance?.templateGeneration ? previous?.templateSyncedAt
            : (instance?.templateGeneration != nil ? now : nil)
        let config = agent.config(templates)
        let template = agent.spec.template.flatMap { templates[$0] }

        let claimed = Self.claimed(instance, previous: previous)
        let tools = Self.tools(config, instance)
        let configured = Self.configured(instance)
        let synced = Self.synced(config, template: agent.spec.template, found: template, instance)
        let tainted = instance?.acceptance == .tainted
        let ready = claimed.ok && tools.ok && configured.ok && !(instance?.envPending ?? false) && !tainted
        let waitingFor = [(claimed.ok, "an instance"), (configured.ok, "its conversation"), (tools.ok, "its tools"),
                          (!(instance?.envPending ?? false), "its runtime's restart")].filter { !$0.0 }.map(\.1)
        var conditions: [(AgentConditionType, (ok: Bool, reason: String, message: String))] = [
            (.claimed, claimed), (.toolsReady, tools), (.configured, configured), (.templateSynced, synced),
        ]
        let failing = Self.failing(agent.name, configured: instance?.configured ?? false, backoffs)
        for i in conditions.indices where !conditions[i].1.ok {
            guard let why = failing[conditions[i].0] else { continue }
            conditions[i].1.message += (conditions[i].1.message.isEmpty ? "" : "; ") + why
        }
        let firstFailure = conditions.first { !$0.1.ok && failing[$0.0] != nil }.flatMap { failing[$0.0] }
        if tainted {
            conditions.append((.ready, (false, "Tainted", instance?.acceptanceMessage ?? "the runtime disagrees with the agent's conversation")))
        } else {
            let reason = ready ? "Ready" : claimed.reason == "InstanceLost" ? "InstanceLost"
                : instance?.acceptance == .pending ? "PendingAcceptance" : "NotReady"
            conditions.append((.ready, (ready, reason,
                                        ready ? "" : "waiting for " + waitingFor.joined(separator: ", ") + (firstFailure.map { "; " + $0 } ?? ""))))
        }
        status.conditions = conditions.map { type, c in
            let value = c.ok ? "True" : "False"
            let old = previous?.conditions.first { $0.type == type.rawValue }
            let since = old?.status == value ? old!.lastTransitionTime : now
            return Condition(type: type.rawValue, status: value, reason: c.reason, message: c.message, lastTransitionTime: since, observedGeneration: generation)
        }
        if agent.deleting { status.phase = .terminating }
        else if let upgrade = instance?.upgradePhase, !tainted {
            status.phase = .upgrading
            let message = upgrade == .upgrading ? "its runtime moves to \(instance?.upgradeTo ?? "a new digest")"
                : "its upgrade failed (\(instance?.upgradeError ?? "")); back to \(instance?.digest ?? "its previous digest")"
            if let i = status.conditions.firstIndex(where: { $0.type == AgentConditionType.ready.rawValue }) {
                let old = previous?.conditions.first { $0.type == AgentConditionType.ready.rawValue }
                let since = old?.status == "False" && old?.reason == "Upgrading" ? old!.lastTransitionTime : now
                status.conditions[i] = Condition(type: AgentConditionType.ready.rawValue, status: "False", reason: "Upgrading", message: message,
                                                 lastTransitionTime: since, observedGeneration: generation)
            }
        }
        else if ready { status.phase = .ready }
        else if instance?.state == .failed || tainted { status.phase = .failed }
        else if instance == nil { status.phase = .pending }
        else { status.phase = .provisioning }
        return status
    }

    /// What fails under each condition, from the keys of the agent's actions: `agent/NAME` binds,
    /// `agent/NAME/runtime` configures (then pushes the template), `agent/NAME/TOOL` provisions.
    package static func failing(_ name: String, configured: Bool, _ backoffs: [String: WorkQueue.KeyState]) -> [AgentConditionType: String] {
        let prefix = "agent/\(name)"
        var out: [AgentConditionType: [String]] = [:]
        for (key, state) in backoffs.sorted(by: { $0.key < $1.key }) where key == prefix || key.hasPrefix(prefix + "/") {
            let part = key.dropFirst(prefix.count).drop { $0 == "/" }
            let type: AgentConditionType
            switch part {
            case "": type = .claimed
            case "runtime": type = configured ? .templateSynced : .configured
            case "clone": type = .templateSynced
            default: type = .toolsReady
            }
            var text = "\(state.action ?? "action")\(part.isEmpty || type != .toolsReady ? "" : " " + part) attempt \(state.failures) failed"
            if let error = state.lastError { text += ": " + error }
            if let next = state.nextAttempt { text += "; next attempt at " + ISO8601.format(next) }
            out[type, default: []].append(text)
        }
        return out.mapValues { $0.joined(separator: "; ") }
    }

    /// The pool's failing keys (`pool/NAME`, `instance/ID` of its instances), the first in full.
    package static func failing(pool: String, instances: [InstanceView], _ backoffs: [String: WorkQueue.KeyState]) -> String? {
        // From the failing keys (few), not from the instances (tens of thousands, every tick).
        let failingInstances = Set(backoffs.keys.filter { $0.hasPrefix("instance/") }.map { String($0.dropFirst("instance/".count)) })
        var keys: Set<String> = ["pool/\(pool)"]
        if !failingInstances.isEmpty {
            for i in instances where i.pool == pool && failingInstances.contains(i.id) { keys.insert("instance/\(i.id)") }
        }
        let mine = backoffs.filter { keys.contains($0.key) }.sorted { $0.key < $1.key }
        guard let (key, state) = mine.first else { return nil }
        var text = "\(mine.count) action(s) failing; \(state.action ?? "action") \(key) attempt \(state.failures) failed"
        if let error = state.lastError { text += ": " + error }
        if let next = state.nextAttempt { text += "; next attempt at " + ISO8601.format(next) }
        return text
    }

    /// Bound, or why not. A lost instance stays the reason until a fresh one is bound.
    private static func claimed(_ instance: InstanceView?, previous: AgentStatus?) -> (ok: Bool, reason: String, message: String) {
        guard let instance else {
            if let lost = previous?.conditions.first(where: { $0.type == AgentConditionType.claimed.rawValue && $0.reason == "InstanceLost" }) {
                let message = lost.message.hasSuffix("waiting for a fresh idle instance") ? lost.message
                    : lost.message + "; waiting for a fresh idle instance"
                return (false, "InstanceLost", message)
            }
            return (false, "WaitingForInstance", "no idle instance yet; the agent binds when one is ready")
        }
        if instance.lost { return (false, "InstanceLost", "the Railway project of instance \(instance.id) is gone") }
        return (true, "Bound", "instance \(instance.id)")
    }

    /// Tools made and in the running agent's hands; a failing tool's error code is the reason.
    private static func tools(_ config: AgentConfig, _ instance: InstanceView?) -> (ok: Bool, reason: String, message: String) {
        let wanted = config.toolNames.map(\.rawValue)
        guard let instance else { return (false, "WaitingForInstance", wanted.joined(separator: ",")) }
        let missing = config.missingTools(instance.tools)
        if missing.isEmpty { return (true, wanted.isEmpty ? "NoTools" : "Provisioned", wanted.joined(separator: ",")) }
        let failing = missing.compactMap { tool in instance.tools[tool].flatMap { t in t.errorCode.map { (tool, $0, t.error ?? "") } } }
        if let (tool, code, error) = failing.first {
            return (false, code.rawValue, "\(tool.rawValue): \(error)")
        }
        let undelivered = missing.filter { instance.tools[$0]?.state == .ready }
        if !undelivered.isEmpty { return (false, "Delivering", "handing \(undelivered.map(\.rawValue).joined(separator: ",")) to the runtime") }
        return (false, "Provisioning", missing.map(\.rawValue).joined(separator: ","))
    }

    private static func configured(_ instance: InstanceView?) -> (ok: Bool, reason: String, message: String) {
        guard let instance else { return (false, "WaitingForInstance", "") }
        if instance.acceptance == .pending {
            return (false, "PendingAcceptance", "the join of \(instance.inviteUrl ?? "its conversation") waits for the conversation owner's approval")
        }
        if let conversation = instance.conversationId {
            return (true, instance.joined == true ? "Joined" : "Configured", "conversation \(conversation)")
        }
        return instance.healthy ? (false, "Configuring", "calling the runtime's /pool/provision")
            : (false, "WaitingForRuntime", "the runtime's /pool/health is not ready")
    }

    private static func synced(_ config: AgentConfig, template name: String?, found: TemplateView?,
                               _ instance: InstanceView?) -> (ok: Bool, reason: String, message: String) {
        if let name, found == nil { return (false, "TemplateMissing", "agenttemplate/\(name) does not exist") }
        let label = found.map { "template \($0.name) generation \($0.generation)" } ?? "no template"
        guard let instance, instance.configured else { return (false, "Pending", label) }
        let wanted = RuntimeConfig(config)
        if instance.runtimeConfig == wanted { return (true, found == nil ? "NoTemplate" : "Synced", label) }
        if instance.refusedConfig == wanted {
            return (false, "NotSupportedByRuntime", "the runtime answered 404 to /pool/update-template; it runs the configuration of its claim")
        }
        return (false, "Syncing", label)
    }

    /// Counts by state, and the conditions `Ready` (minIdle met) and `Progressing` (`False` with
    /// reason `RepeatedFailures` while the crash-loop rule holds creates back, or `ProviderQuota` and
    /// when creating goes on, while a provider's quota does, or `ActionsFailing` with the first
    /// failing step of the pool or of one of its instances, its attempts and next attempt).
    package static func pool(_ pool: PoolView, generation: Int, previous: PoolStatus?, instances: [InstanceView],
                     settings: PlannerSettings = PlannerSettings(), now: Date, backoffs: [String: WorkQueue.KeyState] = [:]) -> PoolStatus {
        var status = PoolStatus()
        status.observedGeneration = generation
        status.imageDigest = pool.digest ?? previous?.imageDigest
        var held: [InstanceView] = []
        for i in instances where i.pool == pool.name {
            switch i.state {
            case .idle: status.idle += 1
            case .provisioning:
                status.provisioning += 1
                if let until = i.quotaWaitUntil, until > now { held.append(i) }
            case .claimed: status.claimed += 1
            case .failed: status.failed += 1
            case .deleting: status.deleting += 1
            }
        }
        let ready: (Bool, String, String) = status.idle >= pool.spec.minIdle
            ? (true, "MinIdleMet", "\(status.idle) idle, minIdle \(pool.spec.minIdle)")
            : (false, "BelowMinIdle", "\(status.idle) idle of minIdle \(pool.spec.minIdle)")
        let progressing: (Bool, String, String)
        if let hold = CrashLoop.hold(pool, now: now, settings: settings) {
            let window = Int(settings.failureWindow)
            progressing = (false, "RepeatedFailures", "\(hold.failures) instance(s) on \((pool.digest ?? "").prefix(19)) failed within \(window / 60 > 0 ? "\(window / 60)m" : "\(window)s"); "
                + "last: \(hold.lastReason) at \(ISO8601.format(hold.lastAt)); next try at \(ISO8601.format(hold.until)); "
                + "a new image digest or a spec change tries at once")
        } else if let first = held.min(by: { $0.quotaWaitUntil! < $1.quotaWaitUntil! }) {
            progressing = (false, "ProviderQuota", "\(held.count) instance(s) wait for the provider's quota; creating goes on at "
                + ISO8601.format(first.quotaWaitUntil!) + (first.lastError.map { " (\($0))" } ?? ""))
        } else if let failing = Self.failing(pool: pool.name, instances: instances, backoffs) {
            progressing = (false, "ActionsFailing", failing)
        } else if status.provisioning > 0 {
            progressing = (true, "Creating", "\(status.provisioning) instance(s) starting")
        } else {
            progressing = (true, "Steady", "no instance starting")
        }
        status.conditions = [("Ready", ready), ("Progressing", progressing)].map { type, c in
            let value = c.0 ? "True" : "False"
            let old = previous?.conditions.first { $0.type == type }
            let since = old?.status == value ? old!.lastTransitionTime : now
            return Condition(type: type, status: value, reason: c.1, message: c.2, lastTransitionTime: since, observedGeneration: generation)
        }
        return status
    }

    /// The pool's `status.rollout` and, when it halted, `Progressing=False` reason `RolloutFailed`
    /// naming the agent. `skipped`: agents rollouts do not move (pinned, being deleted).
    package static func rollout(_ pool: PoolView, into status: inout PoolStatus, previous: PoolStatus?, instances: [InstanceView],
                                skipped: Set<String>, now: Date) {
        guard let rollout = pool.rollout, let goal = rollout.goal else { return }
        let claimed = instances.filter { i in
            i.pool == pool.name && i.state == .claimed && i.configured && i.acceptance == nil && !(i.agent.map(skipped.contains) ?? true)
        }
        let upgrading = claimed.filter { $0.upgradePhase != nil }.count
        let updated = claimed.filter { $0.digest == goal && $0.upgradePhase == nil }.count
        let failed = claimed.filter { $0.upgradeError != nil && $0.digest != goal }.count
        let phase: RolloutStatus.Phase = rollout.halted ? .halted : updated == claimed.count ? .complete : .progressing
        status.rollout = RolloutStatus(targetDigest: goal, targetVersion: Planner.targetVersion(pool, digest: goal, input: instances),
                                       previousDigest: rollout.undo ? rollout.targetDigest : rollout.previousDigest, total: claimed.count,
                                       updated: updated, upgrading: upgrading, failed: failed, paused: rollout.paused, phase: phase,
                                       startedAt: rollout.startedAt)
        guard let agent = rollout.haltedAgent, let i = status.conditions.firstIndex(where: { $0.type == "Progressing" }) else { return }
        let old = previous?.conditions.first { $0.type == "Progressing" }
        let since = old?.status == "False" && old?.reason == "RolloutFailed" ? old!.lastTransitionTime : now
        status.conditions[i] = Condition(type: "Progressing", status: "False", reason: "RolloutFailed",
                                         message: "agent \(agent): \(rollout.haltedError ?? "its upgrade failed"); nothing more is upgraded until `rollout resume`",
                                         lastTransitionTime: since, observedGeneration: status.observedGeneration)
    }

    /// An agent's part in its template's counts (`TemplateTally`): nil without a template or while
    /// it is deleted. Synced: it runs the template's current configuration, its runtime settings,
    /// every declared tool in hand (the key at its limit), none it no longer declares.
    package static func templatePart(_ agent: AgentView, instance: InstanceView?, templates: [String: TemplateView]) -> TemplateTally.Part? {
        guard let name = agent.spec.template, !agent.deleting else { return nil }
        guard let instance else { return (name, false) }
        let config = agent.config(templates)
        // What the current generation asks for, compared field by field: a change of tools
        // alone pushes nothing to the runtime, so the generation it was configured at may be older.
        let synced = instance.runtimeConfig == RuntimeConfig(config)
            && config.missingTools(instance.tools).isEmpty && config.extraTools(instance.tools).isEmpty
        return (name, synced)
    }

    /// A template's status from its counts.
    package static func template(_ template: TemplateView, counts: (agents: Int, synced: Int)?) -> AgentTemplateStatus {
        var status = AgentTemplateStatus()
        status.observedGeneration = template.generation
        status.agents = counts?.agents ?? 0
        status.agentsSynced = counts?.synced ?? 0
        return status
    }
}
