import Foundation
import Testing
@testable import Resources

/// Table-driven planner cases: each a name, a reason, desired + observed in, actions out.
struct PlannerCase: Sendable, CustomTestStringConvertible {
    let name: String
    let reason: String
    let input: PlannerInput
    let expected: [Action]
    var testDescription: String { name }
}

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)
private let d1 = "sha256:" + String(repeating: "1", count: 64)
private let d2 = "sha256:" + String(repeating: "2", count: 64)
private func imageAt(_ d: String) -> String { "ghcr.io/xmtplabs/convos-runtime@\(d)" }

private func pool(_ minIdle: Int = 2, max: Int = 5, digest: String? = d1, name: String = "default", generation: Int = 1,
                  failures: [PoolFailure] = []) -> PoolView {
    PoolView(name: name, spec: PoolSpec(minIdle: minIdle, maxInstances: max, image: "ghcr.io/xmtplabs/convos-runtime:production"), digest: digest,
             generation: generation, failures: failures)
}
/// Failed instances `ago` seconds before t0, on `digest` and generation `generation`.
private func failures(_ ago: [TimeInterval], digest: String = d1, generation: Int = 1) -> [PoolFailure] {
    ago.map { PoolFailure(digest: digest, generation: generation, reason: "DeployFailed", at: t0 - $0) }
}
private func idle(_ id: String, digest: String = d1, age: TimeInterval = 60, deploy: DeployStatus = .success, health: InstanceHealth = .healthy) -> InstanceView {
    InstanceView(id: id, pool: "default", state: .idle, digest: digest, url: "http://x/\(id)", createdAt: t0 - age, health: health, deployStatus: deploy)
}
private func provisioning(_ id: String, age: TimeInterval = 5, setup: InstanceSetup = .created, deploy: DeployStatus? = .deploying,
                          health: InstanceHealth = .deploying, url: String? = nil, deployedAgo: TimeInterval? = nil,
                          quotaWait: TimeInterval? = nil) -> InstanceView {
    var i = InstanceView(id: id, pool: "default", state: .provisioning, digest: d1, url: url, createdAt: t0 - age, setup: setup, health: health,
                         deployStatus: deploy)
    i.deployedAt = deployedAgo.map { t0 - $0 }
    i.quotaWaitUntil = quotaWait.map { t0 + $0 }
    return i
}
private let conciergeConfig = RuntimeConfig(agentName: "Concierge", instructions: "Plan.", model: "a/b")
private func claimed(_ id: String, agent: String, tools: [ToolName: ToolView] = [:], configured: RuntimeConfig? = nil,
                     refused: RuntimeConfig? = nil, health: InstanceHealth = .healthy, clone: Bool = false, parent: String? = nil) -> InstanceView {
    InstanceView(id: id, pool: "default", state: .claimed, digest: d1, url: "http://x/\(id)", agent: agent, createdAt: t0 - 100, health: health,
                 tools: tools, conversationId: configured.map { _ in "conv-\(id)" }, runtimeConfig: configured, refusedConfig: refused,
                 templateGeneration: configured.map { _ in 3 }, cloneSummaryDone: clone, parentInstance: parent)
}
/// The default pool on d2 with `policy`, its rollout to d2 recorded (from d1) unless told otherwise.
private func rolling(policy: RolloutPolicy, rollout: RolloutView? = RolloutView(targetDigest: d2, previousDigest: d1, startedAt: t0)) -> PoolView {
    var p = PoolView(name: "default", spec: PoolSpec(minIdle: 0, maxInstances: 50, image: "ghcr.io/xmtplabs/convos-runtime:production", rollout: policy),
                     digest: d2)
    p.rollout = rollout
    return p
}
/// `n` configured agents `a1...an` on instances `c1...cn`, all on d1.
private func fleet(_ n: Int) -> [InstanceView] {
    (1...n).map { claimed("c\($0)", agent: "a\($0)", tools: allReady, configured: conciergeConfig) }
}
/// The instance upgrading to d2, committed `age` seconds ago, its deploy `deploy`.
private func upgrading(_ instance: InstanceView, deploy: DeployStatus, age: TimeInterval = 10) -> InstanceView {
    var i = instance
    i.upgradePhase = .upgrading
    i.upgradeTo = d2
    i.upgradeStartedAt = t0 - age
    i.deployStatus = deploy
    return i
}
/// The same instance, its Railway project gone.
private func lost(_ instance: InstanceView) -> InstanceView {
    var instance = instance
    instance.deployStatus = .missing
    instance.health = .deployFailed
    return instance
}
private func agent(_ name: String, template: String? = "concierge", owner: String = "u1", cloneFrom: String? = nil, deleting: Bool = false,
                   age: TimeInterval = 10) -> AgentView {
    AgentView(name: name, spec: AgentSpec(template: template, owner: owner, cloneFrom: cloneFrom), deleting: deleting, createdAt: t0 - age)
}
private let concierge = TemplateView(name: "concierge", spec: AgentTemplateSpec(
    agentName: "Concierge", instructions: "Plan.", model: ModelChoice(default: "a/b"), tools: [TemplateTool(.email), TemplateTool(.sms, options: ["country": "US"])],
    openrouter: OpenRouterSettings(limitUsd: 5)), generation: 3)
private let bare = TemplateView(name: "bare", spec: AgentTemplateSpec(agentName: "Bare", instructions: "Be."), generation: 1)
private let keyAt5 = ToolView(state: .ready, config: ["limitUsd": "5"])
private let allReady: [ToolName: ToolView] = [.openrouter: keyAt5, .email: ToolView(state: .ready), .sms: ToolView(state: .ready)]

private func input(pools: [PoolView] = [pool()], agents: [AgentView] = [], instances: [InstanceView] = [], orphans: [OrphanView] = [],
                   budget: Int = 8, auditDue: Bool = false) -> PlannerInput {
    var settings = PlannerSettings()
    settings.createBudget = Dictionary(pools.map { ($0.name, budget) }, uniquingKeysWith: { a, _ in a })
    var input = PlannerInput(now: t0, pools: pools, templates: ["concierge": concierge, "bare": bare], agents: agents,
                             instances: instances, orphans: orphans, settings: settings)
    input.auditDue = auditDue
    return input
}
/// The instance with variables its runtime has not been handed.
private func pending(_ instance: InstanceView) -> InstanceView {
    var instance = instance
    instance.envPending = true
    return instance
}

let plannerCases: [PlannerCase] = [
    PlannerCase(name: "empty pool fills to minIdle", reason: "no instances: create minIdle of them",
                input: input(), expected: [.createInstances(pool: "default", count: 2, digest: d1)]),
    PlannerCase(name: "pool below minIdle counts provisioning", reason: "one idle and one coming make two",
                input: input(pools: [pool(3)], instances: [idle("a"), provisioning("b")]),
                expected: [.createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "pool at minIdle does nothing", reason: "a quiet tick plans nothing",
                input: input(instances: [idle("a"), idle("b")]), expected: []),
    PlannerCase(name: "pool above minIdle scales down newest", reason: "minIdle lowered: surplus idle goes, newest first",
                input: input(pools: [pool(1)], instances: [idle("old", age: 100), idle("new", age: 10)]),
                expected: [.teardown(instance: "new", reason: "ScaledDown")]),
    PlannerCase(name: "maxInstances caps creation", reason: "four claimed and one idle leave no room under 5",
                input: input(pools: [pool(3, max: 5)], agents: (1...4).map { agent("g\($0)") },
                             instances: (1...4).map { claimed("c\($0)", agent: "g\($0)", tools: allReady, configured: conciergeConfig) } + [idle("a")]),
                expected: []),
    PlannerCase(name: "maxInstances partly reached", reason: "room for one more, deficit two",
                input: input(pools: [pool(3, max: 4)], instances: [claimed("c1", agent: "gone1"), claimed("c2", agent: "gone2"), idle("a")]),
                expected: [.createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "slow start limits creates", reason: "budget 1 this tick",
                input: input(pools: [pool(4)], budget: 1), expected: [.createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "unresolved digest creates nothing", reason: "no digest yet: never create from a floating tag",
                input: input(pools: [pool(digest: nil)]), expected: []),
    PlannerCase(name: "digest moved replaces idle once fresh ones are ready", reason: "two fresh idle keep minIdle; stale ones go",
                input: input(pools: [pool(digest: d2)], instances: [idle("s1", digest: d1), idle("f1", digest: d2), idle("f2", digest: d2)]),
                expected: [.teardown(instance: "s1", reason: "ImageOutdated")]),
    PlannerCase(name: "digest moved creates replacements first", reason: "stale idle count for nothing; old ones stay until fresh are ready",
                input: input(pools: [pool(digest: d2)], instances: [idle("s1", digest: d1), idle("s2", digest: d1)]),
                expected: [.createInstances(pool: "default", count: 2, digest: d2)]),
    PlannerCase(name: "digest moved starts the claimed agents' rollout", reason: "a claimed agent behind the digest: the rollout's record first, from d1",
                input: input(pools: [pool(0, digest: d2)], agents: [agent("a1")], instances: [claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig)]),
                expected: [.startRollout(pool: "default", digest: d2, previous: d1, paused: false)]),
    PlannerCase(name: "a Never rollout leaves claimed alone", reason: "spec.rollout.claimed Never: claimed instances keep their image",
                input: input(pools: [rolling(policy: RolloutPolicy(claimed: .never), rollout: nil)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig)]),
                expected: []),
    PlannerCase(name: "a rollout moves maxUnavailable agents at once", reason: "25% of eight claimed: two upgrades, in the agents' order",
                input: input(pools: [rolling(policy: RolloutPolicy())], agents: (1...8).map { agent("a\($0)") }, instances: fleet(8)),
                expected: [.upgradeInstance(instance: "c1", agent: "a1", digest: d2, image: imageAt(d2)),
                           .upgradeInstance(instance: "c2", agent: "a2", digest: d2, image: imageAt(d2))]),
    PlannerCase(name: "the canary goes alone", reason: "canary 1 not yet proven on d2: one upgrade, whatever maxUnavailable allows",
                input: input(pools: [rolling(policy: RolloutPolicy(maxUnavailable: .count(4), canary: 1))], agents: (1...8).map { agent("a\($0)") },
                             instances: fleet(8)),
                expected: [.upgradeInstance(instance: "c1", agent: "a1", digest: d2, image: imageAt(d2))]),
    PlannerCase(name: "a halted rollout upgrades nothing more", reason: "an upgrade failed: nothing until rollout resume",
                input: input(pools: [rolling(policy: RolloutPolicy(), rollout: RolloutView(targetDigest: d2, previousDigest: d1, startedAt: t0,
                                                                                          haltedAgent: "a9", haltedError: "crashed"))],
                             agents: (1...8).map { agent("a\($0)") }, instances: fleet(8)),
                expected: []),
    PlannerCase(name: "a pinned agent is skipped", reason: "spec.runtimeImage pins it: the next agent moves instead",
                input: input(pools: [rolling(policy: RolloutPolicy(maxUnavailable: .count(1)))],
                             agents: [AgentView(name: "a1", spec: AgentSpec(template: "concierge", owner: "o", runtimeImage: imageAt(d1)), createdAt: t0 - 10),
                                      agent("a2")], instances: fleet(2)),
                expected: [.upgradeInstance(instance: "c2", agent: "a2", digest: d2, image: imageAt(d2))]),
    PlannerCase(name: "an upgrade whose deploy crashed is rolled back", reason: "its deploy ended CRASHED: back to d1, the rollout halts",
                input: input(pools: [rolling(policy: RolloutPolicy())], agents: [agent("a1")],
                             instances: [upgrading(claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig, health: .deployFailed), deploy: .crashed)]),
                expected: [.rollBack(instance: "c1", agent: "a1", image: imageAt(d1), error: "its deploy ended CRASHED")]),
    PlannerCase(name: "an upgrade not ready in five minutes is rolled back", reason: "committed 301 s ago, its runtime still not ready",
                input: input(pools: [rolling(policy: RolloutPolicy())], agents: [agent("a1")],
                             instances: [upgrading(claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig, health: .unreachable), deploy: .deploying, age: 301)]),
                expected: [.rollBack(instance: "c1", agent: "a1", image: imageAt(d1), error: "not ready within 5 minutes")]),
    PlannerCase(name: "an upgrade ready on the new digest is confirmed", reason: "deploy SUCCESS and the runtime ready: its conversation is checked next",
                input: input(pools: [rolling(policy: RolloutPolicy())], agents: [agent("a1")],
                             instances: [upgrading(claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig), deploy: .success)]),
                expected: [.confirmUpgrade(instance: "c1", agent: "a1")]),
    PlannerCase(name: "failed idle instance is marked", reason: "its deployment crashed",
                input: input(instances: [idle("a"), idle("b", deploy: .crashed, health: .deployFailed)]),
                expected: [.markFailed(instance: "b", reason: "DeployCrashed"), .createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "failed instance is torn down", reason: "failed and unclaimed: remove it",
                input: input(instances: [idle("a"), idle("b"),
                                         InstanceView(id: "f", pool: "default", state: .failed, digest: d1, createdAt: t0)]),
                expected: [.teardown(instance: "f", reason: "Failed")]),
    PlannerCase(name: "stuck provisioning is failed", reason: "not healthy POOL_STUCK_TIMEOUT (15 minutes) after creation",
                input: input(pools: [pool(1)], instances: [provisioning("p", age: 901, deploy: .success, health: .unreachable)]),
                expected: [.markFailed(instance: "p", reason: "NotReadyInTime")]),
    PlannerCase(name: "waiting for a quota is never stuck", reason: "20 minutes held back by Railway's pace: keep creating, fail nothing",
                input: input(pools: [pool(1)], instances: [provisioning("p", age: 1200, setup: .creating, deploy: nil, quotaWait: 20)]),
                expected: [.startInstance(instance: "p", image: imageAt(d1))]),
    PlannerCase(name: "stuck counts from the deploy", reason: "created 20 minutes ago, deployed 2 minutes ago: not stuck",
                input: input(pools: [pool(1)], instances: [provisioning("p", age: 1200, deploy: .success, health: .unreachable, deployedAgo: 120)]),
                expected: []),
    PlannerCase(name: "stuck after the deploy is failed", reason: "deployed 16 minutes ago and still not ready",
                input: input(pools: [pool(1)], instances: [provisioning("p", age: 1200, deploy: .success, health: .unreachable, deployedAgo: 960)]),
                expected: [.markFailed(instance: "p", reason: "NotReadyInTime")]),
    PlannerCase(name: "provisioning under the stuck timeout waits", reason: "14 minutes is slow, not stuck",
                input: input(pools: [pool(1)], instances: [provisioning("p", age: 840, deploy: .success, health: .unreachable)]),
                expected: []),
    PlannerCase(name: "provisioning without a project is started", reason: "crash after the intent row: create again, idempotently",
                input: input(pools: [pool(1)], instances: [provisioning("p", setup: .missing, deploy: nil)]),
                expected: [.startInstance(instance: "p", image: imageAt(d1))]),
    PlannerCase(name: "deploy success is not ready", reason: "the runtime's /pool/health has not said ready: stays provisioning",
                input: input(pools: [pool(1)], instances: [provisioning("p", deploy: .success, health: .unreachable, url: "http://x/p")]),
                expected: []),
    PlannerCase(name: "ready runtime becomes idle", reason: "healthy: /pool/health said ready",
                input: input(pools: [pool(1)], instances: [provisioning("p", deploy: .success, health: .healthy, url: "http://x/p")]),
                expected: [.markIdle(instance: "p", url: "http://x/p")]),
    PlannerCase(name: "failed deploy of a provisioning instance", reason: "deploy_failed after the commit: replace it",
                input: input(pools: [pool(1)], instances: [provisioning("p", deploy: .failed, health: .deployFailed)]),
                expected: [.markFailed(instance: "p", reason: "DeployFailed")]),
    PlannerCase(name: "waiting agent binds an idle instance", reason: "FIFO by creation; the pool refills behind it",
                input: input(pools: [pool(1)], agents: [agent("w1")], instances: [idle("a")]),
                expected: [.bindAgent(agent: "w1", pool: "default"), .createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "more waiting agents than idle", reason: "bind what exists, create for the rest and for minIdle",
                input: input(pools: [pool(1)], agents: [agent("w1", age: 30), agent("w2", age: 20)], instances: [idle("a")]),
                expected: [.bindAgent(agent: "w1", pool: "default"), .createInstances(pool: "default", count: 2, digest: d1)]),
    PlannerCase(name: "claimed agent is configured while its tools are made", reason: "the invite first; tools in parallel keys",
                input: input(pools: [pool(0)], agents: [agent("a1")], instances: [claimed("c1", agent: "a1", tools: [.openrouter: ToolView(state: .ready)])]),
                expected: [.configure(agent: "a1", instance: "c1"), .provisionTool(agent: "a1", instance: "c1", tool: .openrouter),
                           .provisionTool(agent: "a1", instance: "c1", tool: .email), .provisionTool(agent: "a1", instance: "c1", tool: .sms)]),
    PlannerCase(name: "restarting runtime waits to be configured", reason: "/pool/provision answers 503 while not ready; tools go on",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: [.openrouter: keyAt5, .email: ToolView(state: .ready)], health: .unreachable)]),
                expected: [.provisionTool(agent: "a1", instance: "c1", tool: .sms)]),
    PlannerCase(name: "tool made but not handed over", reason: "the services layer is restarting the agent with it: nothing to plan",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: [.openrouter: keyAt5, .email: ToolView(state: .ready, delivered: false),
                                                                            .sms: ToolView(state: .ready)], configured: conciergeConfig)]),
                expected: []),
    PlannerCase(name: "key limit differs from the template", reason: "the instance's key was made at the default limit",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady.merging([.openrouter: ToolView(state: .ready, config: ["limitUsd": "20"])]) { _, b in b },
                                                 configured: conciergeConfig)]),
                expected: [.provisionTool(agent: "a1", instance: "c1", tool: .openrouter)]),
    PlannerCase(name: "a tool removed from the template is released", reason: "crypto is held but no longer declared; by its id",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady.merging([.crypto: ToolView(state: .ready, resourceId: "bk-7")]) { a, _ in a },
                                                 configured: conciergeConfig)]),
                expected: [.deprovisionTool(agent: "a1", instance: "c1", tool: .crypto, resourceID: "bk-7")]),
    PlannerCase(name: "a released tool is not released again", reason: "deleted tools are history, not work",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady.merging([.crypto: ToolView(state: .deleted)]) { a, _ in a },
                                                 configured: conciergeConfig)]),
                expected: []),
    PlannerCase(name: "a key lost at OpenRouter is made again", reason: "the audit set it back to creating; the limit matches nothing now",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady.merging([.openrouter: ToolView(state: .creating)]) { _, b in b },
                                                 configured: conciergeConfig)]),
                expected: [.provisionTool(agent: "a1", instance: "c1", tool: .openrouter)]),
    PlannerCase(name: "a lost key is made again without a template limit", reason: "every instance has a key, limit or not",
                input: input(pools: [pool(0)], agents: [agent("a1", template: nil)],
                             instances: [claimed("c1", agent: "a1", tools: [.openrouter: ToolView(state: .creating)],
                                                 configured: RuntimeConfig(agentName: "Assistant", instructions: "You are a helpful AI assistant.", model: nil))]),
                expected: [.provisionTool(agent: "a1", instance: "c1", tool: .openrouter)]),
    PlannerCase(name: "template changed is pushed", reason: "the runtime was configured with other instructions",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady, configured: RuntimeConfig(agentName: "Concierge", instructions: "Old.", model: "a/b"))]),
                expected: [.pushTemplate(agent: "a1", instance: "c1", generation: 3)]),
    PlannerCase(name: "runtime without update-template is not asked again", reason: "it answered 404 for this configuration: no retry storm",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [claimed("c1", agent: "a1", tools: allReady, configured: RuntimeConfig(agentName: "Concierge", instructions: "Old.", model: "a/b"),
                                                 refused: conciergeConfig)]),
                expected: []),
    PlannerCase(name: "old flow agent is configured, no tools", reason: "no template: the seed's defaults, nothing to provision",
                input: input(pools: [pool(0)], agents: [agent("a1", template: nil)], instances: [claimed("c1", agent: "a1")]),
                expected: [.configure(agent: "a1", instance: "c1")]),
    PlannerCase(name: "old flow agent configured is done", reason: "Assistant with the default instructions, as configured",
                input: input(pools: [pool(0)], agents: [agent("a1", template: nil)],
                             instances: [claimed("c1", agent: "a1", configured: RuntimeConfig(agentName: "Assistant", instructions: "You are a helpful AI assistant.", model: nil))]),
                expected: []),
    PlannerCase(name: "clone sends its summary once configured", reason: "child configured, summary not yet sent",
                input: input(pools: [pool(0)], agents: [agent("parent"), agent("child", cloneFrom: "parent")],
                             instances: [claimed("p1", agent: "parent", tools: allReady, configured: conciergeConfig),
                                         claimed("c1", agent: "child", tools: allReady, configured: conciergeConfig, parent: "p1")]),
                expected: [.sendCloneSummary(agent: "child", instance: "c1", parentInstance: "p1")]),
    PlannerCase(name: "clone summary is sent once", reason: "already sent (or refused): nothing more",
                input: input(pools: [pool(0)], agents: [agent("parent"), agent("child", cloneFrom: "parent")],
                             instances: [claimed("p1", agent: "parent", tools: allReady, configured: conciergeConfig),
                                         claimed("c1", agent: "child", tools: allReady, configured: conciergeConfig, clone: true, parent: "p1")]),
                expected: []),
    PlannerCase(name: "claimed agent whose project is gone is unbound", reason: "drift: it takes a fresh instance; nothing else runs on the lost one",
                input: input(pools: [pool(0)], agents: [agent("a1")], instances: [lost(claimed("c1", agent: "a1", configured: conciergeConfig))]),
                expected: [.instanceLost(agent: "a1", instance: "c1", rebind: true)]),
    PlannerCase(name: "onInstanceLost Fail keeps the agent on its lost instance", reason: "the spec opts out of rebinding",
                input: input(pools: [pool(0)], agents: [AgentView(name: "a1", spec: AgentSpec(template: "concierge", owner: "u1", onInstanceLost: .fail),
                                                                  deleting: false, createdAt: t0 - 10)],
                             instances: [lost(claimed("c1", agent: "a1"))]),
                expected: [.instanceLost(agent: "a1", instance: "c1", rebind: false)]),
    PlannerCase(name: "a lost instance let go of is torn down as the agent binds again", reason: "failed and unbound: its tools released, its project's delete finds it gone",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [lost(InstanceView(id: "c1", pool: "default", state: .failed, digest: d1, createdAt: t0 - 100)), idle("i1")]),
                expected: [.teardown(instance: "c1", reason: "Failed"), .bindAgent(agent: "a1", pool: "default")]),
    PlannerCase(name: "a failed agent's lost instance is kept", reason: "onInstanceLost Fail: nothing until the agent is deleted",
                input: input(pools: [pool(0)], agents: [agent("a1")],
                             instances: [lost(InstanceView(id: "c1", pool: "default", state: .failed, digest: d1, agent: "a1", createdAt: t0 - 100))]),
                expected: []),
    PlannerCase(name: "deleted agent's instance is torn down", reason: "teardown first, the agent row after",
                input: input(pools: [pool(0)], agents: [agent("a1", deleting: true)], instances: [claimed("c1", agent: "a1")]),
                expected: [.teardown(instance: "c1", reason: "AgentDeleted")]),
    PlannerCase(name: "teardown half done resumes", reason: "an instance left deleting is torn down again, idempotently",
                input: input(pools: [pool(0)], instances: [InstanceView(id: "d", pool: "default", state: .deleting, createdAt: t0, setup: .deleting)]),
                expected: [.teardown(instance: "d", reason: "Deleting")]),
    PlannerCase(name: "deleted agent without instance is removed", reason: "nothing left to tear down",
                input: input(pools: [pool(0)], agents: [agent("a1", deleting: true)]), expected: [.removeAgent(agent: "a1")]),
    PlannerCase(name: "orphan past grace is deleted", reason: "our naming, no row, seen long enough",
                input: input(pools: [pool(0)], orphans: [OrphanView(instanceID: "zz1", firstSeen: t0 - 120), OrphanView(instanceID: "zz2", firstSeen: t0 - 5)]),
                expected: [.deleteOrphan(instanceID: "zz1")]),
    PlannerCase(name: "three failures on the digest stop creating", reason: "a crash loop is not fed more projects",
                input: input(pools: [pool(2, failures: failures([30, 60, 90]))]), expected: []),
    PlannerCase(name: "failures on an old digest do not count", reason: "a new digest tries at once",
                input: input(pools: [pool(2, failures: failures([30, 60, 90], digest: d2))]),
                expected: [.createInstances(pool: "default", count: 2, digest: d1)]),
    PlannerCase(name: "a spec change starts the count again", reason: "failures of generation 1 do not hold generation 2",
                input: input(pools: [pool(2, generation: 2, failures: failures([30, 60, 90]))]),
                expected: [.createInstances(pool: "default", count: 2, digest: d1)]),
    PlannerCase(name: "a failure out of the window frees one try", reason: "two failures left in the window on an unproven digest: one create",
                input: input(pools: [pool(2, failures: failures([30, 60, 601]))]),
                expected: [.createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "an unproven digest starts no more than the failures left", reason: "one failure: two at once, one of them already starting",
                input: input(pools: [pool(5, failures: failures([30]))], instances: [provisioning("p")]),
                expected: [.createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "a proven digest is not capped below the limit", reason: "an idle instance ran it: two failures do not slow the refill",
                input: input(pools: [pool(5, failures: failures([30, 60]))], instances: [idle("a")]),
                expected: [.createInstances(pool: "default", count: 4, digest: d1)]),
    PlannerCase(name: "claims come from the default pool", reason: "with several pools, agents bind in `default`",
                input: input(pools: [pool(0, name: "aaa"), pool(1)], agents: [agent("w1")],
                             instances: [InstanceView(id: "x", pool: "aaa", state: .idle, digest: d1, url: "u", createdAt: t0), idle("a")]),
                expected: [.bindAgent(agent: "w1", pool: "default"), .teardown(instance: "x", reason: "ScaledDown"),
                           .createInstances(pool: "default", count: 1, digest: d1)]),
    PlannerCase(name: "undelivered variables go to a healthy runtime", reason: "the status batch found them pending: a hand-over is planned",
                input: input(pools: [pool(1)], instances: [pending(idle("a"))]),
                expected: [.handOver(instance: "a")]),
    PlannerCase(name: "undelivered variables wait for the runtime", reason: "an unreachable runtime cannot take them: nothing is planned",
                input: input(pools: [pool(1)], instances: [pending(idle("a", health: .unreachable))]),
                expected: []),
    PlannerCase(name: "a resync makes the audit due", reason: "the batch listed the fleet: the tools' audit is planned, once",
                input: input(pools: [pool(1)], instances: [idle("a")], auditDue: true),
                expected: [.auditTools]),
    PlannerCase(name: "a second project of a name is removed", reason: "the resync found two projects named for the instance",
                input: { var i = input(pools: [pool(1)], instances: [idle("a")]); i.strays = ["a"]; return i }(),
                expected: [.removeStrays(instance: "a")]),
    PlannerCase(name: "a short stock of numbers is ordered ahead", reason: "the batch said the reuse pool wants numbers or follows orders: one stocking round",
                input: { var i = input(pools: [pool(1)], instances: [idle("a")]); i.numberStockDue = true; return i }(),
                expected: [.stockNumbers]),
]

@Suite struct PlannerTests {
    @Test(arguments: plannerCases)
    func plans(_ c: PlannerCase) {
        #expect(Planner.plan(c.input) == c.expected, "\(c.name): \(c.reason)")
    }

    @Test func atLeastTwentyFiveCases() { #expect(plannerCases.count >= 25) }

    @Test func keysSeparateParallelWork() {
        #expect(Action.provisionTool(agent: "a", instance: "i", tool: .openrouter).key != Action.provisionTool(agent: "a", instance: "i", tool: .sms).key)
        #expect(Action.configure(agent: "a", instance: "i").key == Action.pushTemplate(agent: "a", instance: "i", generation: 1).key,
                "one call to the runtime's conversation at a time")
        #expect(Action.markIdle(instance: "i", url: "u").key == Action.teardown(instance: "i", reason: "r").key)
    }
}

/// What a change would cause (`apply?dryRun=true`): the planner before and after, carried through binds.
struct DryRunCase: Sendable, CustomTestStringConvertible {
    let name: String
    let before: PlannerInput
    let after: PlannerInput
    let expected: [Action]
    var testDescription: String { name }
}

private func withTemplate(_ input: PlannerInput, _ template: TemplateView) -> PlannerInput {
    var input = input
    input.templates[template.name] = template
    return input
}

let dryRunCases: [DryRunCase] = [
    DryRunCase(name: "a new agent: bind, configure, each tool, and the refill behind it",
               before: input(pools: [pool(1)], instances: [idle("a")]),
               after: input(pools: [pool(1)], agents: [agent("n1")], instances: [idle("a")]),
               expected: [.bindAgent(agent: "n1", pool: "default"), .createInstances(pool: "default", count: 1, digest: d1),
                          .configure(agent: "n1", instance: "a"), .openrouterProvision("n1", "a"),
                          .provisionTool(agent: "n1", instance: "a", tool: .email), .provisionTool(agent: "n1", instance: "a", tool: .sms)]),
    DryRunCase(name: "a new agent with no idle instance waits for one being made",
               before: input(pools: [pool(0)]),
               after: input(pools: [pool(0)], agents: [agent("n1")]),
               expected: [.createInstances(pool: "default", count: 1, digest: d1)]),
    DryRunCase(name: "nothing changed, nothing planned: a tick's own work is not the change's",
               before: input(pools: [pool(3)], instances: [idle("a")]),
               after: input(pools: [pool(3)], instances: [idle("a")]),
               expected: []),
    DryRunCase(name: "minIdle raised: the pool makes the difference",
               before: input(pools: [pool(1)], instances: [idle("a")]),
               after: input(pools: [pool(4)], instances: [idle("a")]),
               expected: [.createInstances(pool: "default", count: 3, digest: d1)]),
    DryRunCase(name: "a tool removed from the template is released from every agent",
               before: input(pools: [pool(0)], agents: [agent("a1"), agent("a2")],
                             instances: [claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig),
                                         claimed("c2", agent: "a2", tools: allReady, configured: conciergeConfig)]),
               after: withTemplate(input(pools: [pool(0)], agents: [agent("a1"), agent("a2")],
                                         instances: [claimed("c1", agent: "a1", tools: allReady, configured: conciergeConfig),
                                                     claimed("c2", agent: "a2", tools: allReady, configured: conciergeConfig)]),
                                   TemplateView(name: "concierge", spec: AgentTemplateSpec(
                                       agentName: "Concierge", instructions: "Plan.", model: ModelChoice(default: "a/b"), tools: [TemplateTool(.email)],
                                       openrouter: OpenRouterSettings(limitUsd: 5)), generation: 4)),
               expected: [.deprovisionTool(agent: "a1", instance: "c1", tool: .sms, resourceID: nil),
                          .deprovisionTool(agent: "a2", instance: "c2", tool: .sms, resourceID: nil)]),
]

extension Action {
    /// The instance's key brought to the template's limit (an idle instance's key has the default).
    static func openrouterProvision(_ agent: String, _ instance: String) -> Action { .provisionTool(agent: agent, instance: instance, tool: .openrouter) }
}

@Suite struct DryRunPlanTests {
    @Test(arguments: dryRunCases)
    func plans(_ c: DryRunCase) {
        #expect(DryRunPlan.actions(before: c.before, after: c.after) == c.expected, "\(c.name)")
    }
}
