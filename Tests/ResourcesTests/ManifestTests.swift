import Testing
import YAML
@testable import Resources

@Suite struct ManifestTests {
    static let valid = """
        apiVersion: agents.convos.org/v1
        kind: Pool
        metadata: {name: default}
        spec:
          minIdle: 3
          maxInstances: 50
          image: ghcr.io/xmtplabs/convos-runtime:production
        ---
        apiVersion: agents.convos.org/v1
        kind: AgentTemplate
        metadata: {name: concierge, labels: {team: growth}}
        spec:
          agentName: Concierge
          instructions: |
            You help the user plan their week.
          model: {default: anthropic/claude-sonnet-4, allowOverride: false}
          visibility: private
          creator: inbox_abc
          tools:
            - {id: email, provisioning: pool}
            - {id: sms, provisioning: pool, options: {country: US}}
            - {id: crypto, provisioning: user}
          openrouter: {limitUsd: 20, limitReset: monthly}
        ---
        apiVersion: agents.convos.org/v1
        kind: Agent
        metadata: {name: alice-concierge}
        spec:
          template: concierge
          owner: user_123
          agentName: Alice's concierge
          joinUrl: https://convos.org/invite/abc
          cloneFrom: alice-planner
        """

    @Test func contractExampleDecodes() throws {
        let manifests = try ManifestDecoder.decode(yaml: Self.valid)
        #expect(manifests.map(\.reference) == ["pool/default", "agenttemplate/concierge", "agent/alice-concierge"])
        let template = try manifests[1].typedSpec(AgentTemplateSpec.self)
        #expect(template.toolNames == [.email, .sms, .crypto])
        #expect(template.tools[2] == TemplateTool(.crypto, provisioning: .user))
        #expect(template.model == ModelChoice(default: "anthropic/claude-sonnet-4"))
        #expect(template.openrouter == OpenRouterSettings(limitUsd: 20, limitReset: .monthly))
        #expect(template.instructions == "You help the user plan their week.\n")
        #expect(manifests[1].labels == ["team": "growth"])
        #expect(try manifests[2].typedSpec(AgentSpec.self) == AgentSpec(template: "concierge", owner: "user_123", agentName: "Alice's concierge",
                                                                         joinUrl: "https://convos.org/invite/abc", cloneFrom: "alice-planner"))
    }

    /// Issue 23's fields: a Pool's `env` (never a variable the controller sets), a template's
    /// `pool` and `openrouter.topUp`, a Coupon whose code is kept only as its hash.
    @Test func poolEnvTemplatePoolTopUpAndCoupon() throws {
        let m = try ManifestDecoder.decode(yaml: """
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: hermes}
            spec: {minIdle: 1, image: "ghcr.io/xmtplabs/convos-runtime-hermes:production", env: {DEFAULT_AGENT_NAME: Hermes}}
            ---
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: t}
            spec: {agentName: T, instructions: Be., pool: hermes, openrouter: {topUp: {incrementUsd: 5, maxUsd: 50, perDay: 2}}}
            ---
            apiVersion: agents.convos.org/v1
            kind: Coupon
            metadata: {name: c}
            spec: {code: " launch-2026 ", incrementUsd: 10, maxUsd: 60, maxRedemptions: 500, expiresAt: "2026-12-31T00:00:00Z"}
            """)
        #expect(try m[0].typedSpec(PoolSpec.self).env == ["DEFAULT_AGENT_NAME": "Hermes"])
        let template = try m[1].typedSpec(AgentTemplateSpec.self)
        #expect(template.pool == "hermes" && template.openrouter?.topUp == .init(incrementUsd: 5, maxUsd: 50, perDay: 2))
        #expect(m[2].spec["code"] == nil && m[2].spec["codeSha256"] == .string(CouponSpec.hash("LAUNCH-2026")), "stored as the hash of the code, trimmed and upper-cased")
        #expect(!"\(m[2].spec)".contains("launch"))

        func paths(_ yaml: String) -> [String] {
            do { _ = try ManifestDecoder.decode(yaml: yaml); return [] } catch { return error.errors.map(\.path) }
        }
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: p}
            spec: {minIdle: 1, image: "ghcr.io/a/b:c", env: {GATEWAY_TOKEN: x, lower: y, RAILWAY_TOKEN: z}}
            """).sorted() == ["spec.env.GATEWAY_TOKEN", "spec.env.RAILWAY_TOKEN", "spec.env.lower"])
        // A rollout's pace and canary, and an agent's pin, each refused at its path.
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: p}
            spec: {minIdle: 1, image: "ghcr.io/a/b:c", rollout: {maxUnavailable: 0%, canary: -1}}
            """).sorted() == ["spec.rollout.canary", "spec.rollout.maxUnavailable"])
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: p}
            spec: {minIdle: 1, image: "ghcr.io/a/b:c", rollout: {maxUnavailable: lots}}
            """).contains { $0.hasPrefix("spec.rollout.maxUnavailable") })
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: Pool
            metadata: {name: p}
            spec: {minIdle: 1, image: "ghcr.io/a/b:c", rollout: {claimed: Sometimes}}
            """).contains { $0.hasPrefix("spec.rollout.claimed") })
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: a}
            spec: {template: t, runtimeImage: "not an image"}
            """) == ["spec.runtimeImage"])
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: t}
            spec: {agentName: T, instructions: Be., pool: Not_A_Label, openrouter: {topUp: {incrementUsd: 0, maxUsd: 50, perDay: 0}}}
            """).sorted() == ["spec.openrouter.topUp.incrementUsd", "spec.openrouter.topUp.perDay", "spec.pool"])
        #expect(paths("""
            apiVersion: agents.convos.org/v1
            kind: Coupon
            metadata: {name: c}
            spec: {code: ab, incrementUsd: 10, maxUsd: 60, expiresAt: tomorrow}
            """).sorted() == ["spec.code", "spec.expiresAt"])
    }

    @Test func defaultsAreFilledIn() throws {
        let m = try ManifestDecoder.decode(yaml: """
            {"apiVersion": "agents.convos.org/v1", "kind": "Pool", "metadata": {"name": "p"},
             "spec": {"minIdle": 1, "image": "ghcr.io/a/b:c"}}
            """)
        #expect(m[0].spec["maxInstances"] == .int(50))
        let t = try ManifestDecoder.decode(yaml: """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: t}
            spec: {agentName: T, instructions: Be., tools: [{id: sms}, {id: email}]}
            """)
        let spec = try t[0].typedSpec(AgentTemplateSpec.self)
        #expect(spec.tools == [TemplateTool(.sms, provisioning: .pool), TemplateTool(.email, provisioning: .pool)])
        #expect(spec.visibility == .private && spec.model == nil)
        #expect(t[0].spec["visibility"] == .string("private"), "the stored spec says what is in force")
    }

    @Test func oldFlowAgentNeedsNoTemplate() throws {
        let m = try ManifestDecoder.decode(yaml: """
            apiVersion: agents.convos.org/v1
            kind: Agent
            metadata: {name: ada}
            spec: {agentName: Ada, instructions: Be brief.}
            """)
        let spec = try m[0].typedSpec(AgentSpec.self)
        #expect(spec.template == nil && spec.owner == nil)
        #expect(AgentConfig.resolve(spec, template: nil) == AgentConfig(agentName: "Ada", instructions: "Be brief."))
        #expect(AgentConfig.resolve(AgentSpec(), template: nil) == AgentConfig(agentName: "Assistant", instructions: "You are a helpful AI assistant."))
    }

    @Test func everyBadFieldIsReportedByPath() {
        let text = """
            apiVersion: agents.convos.org/v1
            kind: AgentTemplate
            metadata: {name: Bad_Name}
            spec:
              agentName: A
              instructions: I
              model: {default: claude}
              colour: blue
              openrouter:
                limitUsd: -1
              tools:
                - {id: sms, options: {country: usa}}
                - {id: slack}
                - {id: email, provisioning: maybe, options: {colour: red}}
                - {id: sms}
            """
        do {
            _ = try ManifestDecoder.decode(yaml: text)
            Issue.record("accepted an invalid template")
        } catch {
            let paths = error.errors.map(\.path).sorted()
            #expect(paths == ["metadata.name", "spec.colour", "spec.model.default", "spec.openrouter.limitUsd",
                              "spec.tools[0].options.country", "spec.tools[1].id", "spec.tools[2].provisioning", "spec.tools[3].id"])
            #expect(error.errors.first { $0.path == "spec.tools[3].id" }?.message == "sms appears twice (also spec.tools[0])")
            #expect(error.errors.first { $0.path == "spec.tools[0].options.country" }?.line == 12, "the line of the bad value, inside the list")
            let credit = error.errors.first { $0.path == "spec.openrouter.limitUsd" }
            #expect(credit?.message == "must be > 0 and at most 10000")
            #expect(credit?.line == 10)
            #expect(error.errors.first { $0.path == "spec.tools[1].id" }?.message == "must be one of email, sms, crypto, got \"slack\"")
            #expect(error.errors.allSatisfy { $0.object == "agenttemplate/Bad_Name" })
            #expect(error.errors.first { $0.path == "spec.colour" }?.message == "unknown field")
        }
    }

    /// Found by the manifest fuzzer: an unknown key came back whole in the error's path, and an
    /// unknown kind whole in the message.
    @Test func hostileKeysAndValuesAreCutInErrors() {
        let key = String(repeating: "ключ", count: 200)
        do {
            _ = try ManifestDecoder.decode(yaml: "apiVersion: agents.convos.org/v1\nkind: Agent\nmetadata: {name: a}\nspec: {template: t, owner: o, \(key): 1}\n")
            Issue.record("accepted an unknown field")
        } catch {
            let path = error.errors.first { $0.message == "unknown field" }?.path ?? ""
            #expect(path.hasPrefix("spec.ключ"))
            #expect(path.hasSuffix("…"))
            #expect(path.utf8.count <= FieldError.maxPathBytes)
        }
        // And a value: a 1 KiB kind is quoted by its first 40 characters.
        let kind = String(repeating: "K", count: 1024)
        do {
            _ = try ManifestDecoder.decode(yaml: "apiVersion: agents.convos.org/v1\nkind: \(kind)\nmetadata: {name: a}\nspec: {}\n")
            Issue.record("accepted an unknown kind")
        } catch {
            let message = error.errors.first { $0.path == "kind" }?.message ?? ""
            #expect(message == "unknown kind \"\(kind.prefix(40))…\"; expected one of Pool, AgentTemplate, Agent, Coupon")
        }
    }

    @Test func poolRangesAndImage() {
        do {
            _ = try ManifestDecoder.decode(yaml: """
                apiVersion: agents.convos.org/v1
                kind: Pool
                metadata: {name: p}
                spec: {minIdle: 5, maxInstances: 2, image: "not an image"}
                """)
            Issue.record("accepted an invalid pool")
        } catch {
            #expect(Set(error.errors.map(\.path)) == ["spec.maxInstances", "spec.image"])
        }
    }

    @Test func typeErrorNamesFieldAndLine() {
        do {
            _ = try ManifestDecoder.decode(yaml: "apiVersion: agents.convos.org/v1\nkind: Pool\nmetadata: {name: p}\nspec:\n  minIdle: many\n  image: ghcr.io/a/b\n")
            Issue.record("accepted a string for minIdle")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.errors[0].description == "pool/p: spec.minIdle: expected an integer, got the string \"many\" (line 5, column 12)")
        }
    }

    @Test func wrongKindAndVersionAndDuplicates() {
        do {
            _ = try ManifestDecoder.decode(yaml: """
                apiVersion: v1
                kind: Pod
                metadata: {name: x}
                ---
                apiVersion: agents.convos.org/v1
                kind: Agent
                metadata: {name: a}
                spec: {template: t, owner: o}
                ---
                apiVersion: agents.convos.org/v1
                kind: Agent
                metadata: {name: a}
                spec: {template: t, owner: o}
                """)
            Issue.record("accepted a bad batch")
        } catch {
            #expect(error.errors.map(\.path) == ["apiVersion", "kind", "metadata.name"])
            #expect(error.errors[0].object == "document 1")
            #expect(error.errors[2].message == "agent/a appears twice (documents 2 and 3)")
        }
    }

    @Test func agentRefusesCloneOfItselfShapeAndEmptyOwner() {
        do {
            _ = try ManifestDecoder.decode(yaml: """
                apiVersion: agents.convos.org/v1
                kind: Agent
                metadata: {name: a}
                spec: {template: T, owner: "  ", cloneFrom: "-x"}
                """)
            Issue.record("accepted")
        } catch {
            #expect(error.errors.map(\.path) == ["spec.template", "spec.owner", "spec.cloneFrom"])
        }
    }

    @Test func syntaxErrorsHaveLines() {
        do {
            _ = try ManifestDecoder.decode(yaml: "kind: Pool\nspec: [1, 2\n")
            Issue.record("accepted")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.errors[0].line != nil)
        }
    }

    @Test func imageReferences() {
        #expect(ImageReference("ghcr.io/xmtplabs/convos-runtime:production")?.tag == "production")
        #expect(ImageReference("ghcr.io/a/b")?.tag == "latest")
        #expect(ImageReference("localhost:5000/a/b:1")?.registry == "localhost:5000")
        #expect(ImageReference("ghcr.io\u{0}/a/b") == nil && ImageReference("gh cr.io/a/b") == nil, "a registry is a host name")
        let digest = "sha256:" + String(repeating: "a", count: 64)
        #expect(ImageReference("ghcr.io/a/b@\(digest)")?.digest == digest)
        #expect(ImageReference("ubuntu:22.04") == nil)
        #expect(ImageReference("ghcr.io/A/b:1") == nil)
    }

    @Test func yamlOutputAppliesBack() throws {
        let m = try ManifestDecoder.decode(yaml: Self.valid)
        let object = JSONValue.object([
            "apiVersion": .string(ResourceKind.apiVersion), "kind": .string("AgentTemplate"),
            "metadata": .object(["name": .string("concierge"), "generation": .int(2), "resourceVersion": .string("17"),
                                 "createdAt": .string("2026-11-24T00:00:00Z")]),
            "spec": m[1].spec, "status": .object(["observedGeneration": .int(1)]),
        ])
        let text = YAMLEmitter.emit(object.yamlNode(keyOrder: ["apiVersion", "kind", "metadata", "spec", "status"]))
        let back = try ManifestDecoder.decode(yaml: text)
        #expect(back[0].spec == m[1].spec)
        #expect(back[0].resourceVersion == "17")
    }
}
