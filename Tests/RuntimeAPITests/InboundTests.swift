import Foundation
import Testing
import Postgres
import Simulator
import Services
import AppTestSupport
import TestSupport

/// Inbound email and SMS (issue 24): verified webhooks, matched to the owning instance, delivered
/// once to its runtime's `/convos/notify` with the texts CONTRACT gives, and kept while it is down.
@Suite struct InboundTests {
    struct Claimed { let agent: String; let instance: String; let inbox: String; let phone: String }

    func start() async throws -> (TestController, Claimed) {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate))
        try await eventually("1 idle") { try await t.idle() == 1 }
        let body = try await t.claim("concierge", owner: "u1").json()
        let agent = try #require(body["agent"] as? String), instance = try #require(body["instanceId"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        let rows = try await t.controller.db.query("SELECT tool, external_id FROM services.tool_resources WHERE instance_id = $1", [instance]).rows
        var found: [String: String] = [:]
        for row in rows { found[try row.decode("tool")] = try row.decode("external_id") }
        return (t, Claimed(agent: agent, instance: instance, inbox: try #require(found["email"]), phone: try #require(found["sms"])))
    }

    func sim(_ t: TestController, _ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        try await TestHTTPClient(base: t.controller.simulator!.baseURL).send("POST", path, body: try JSONSerialization.data(withJSONObject: body)).json()
    }

    func notifications(_ t: TestController, _ instance: String) async throws -> [String] {
        (try await t.runtimeRecord(instance)["notifications"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
    }

    @Test func inboundMailAndTextReachTheRuntimeOnce() async throws {
        let (t, a) = try await start()
        let mail = try await sim(t, "/_sim/agentmail/inbound", ["inbox": a.inbox, "from": "Ada <ada@example.com>", "subject": "Lunch?",
                                                               "text": "Are you free?", "url": "\(t.url)/webhooks/agentmail"])
        #expect(mail["webhookStatus"] as? Int == 200)
        let messageID = try #require(mail["messageId"] as? String)
        let long = String(repeating: "x", count: 100)
        let text = try await sim(t, "/_sim/telnyx/inbound", ["to": a.phone, "from": "+15557654321", "text": long, "url": "\(t.url)/webhooks/telnyx"])
        #expect(text["webhookStatus"] as? Int == 200)
        let started = ContinuousClock.now
        try await eventually("both delivered", timeout: .seconds(5)) { try await notifications(t, a.instance).count == 2 }
        #expect(ContinuousClock.now - started < .seconds(1), "within a second of the webhooks")
        let got = try await notifications(t, a.instance)
        #expect(got.contains("[System: new email] From: Ada <ada@example.com> | Subject: Lunch? | ID: \(messageID)"))
        #expect(got.contains("You got a new text. \"\(String(long.prefix(80)))\" from +15557654321"))
        await t.stop()
    }

    @Test func badSignaturesOldTimestampsAndWrongKeysAreRefused() async throws {
        let (t, a) = try await start()
        let body = try JSONSerialization.data(withJSONObject: ["type": "event", "event_type": "message.received", "event_id": "evt_1",
                                                               "message": ["inbox_id": a.inbox, "message_id": "<m@x>", "from": "x", "subject": "s"]])
        let now = Int(Date().timeIntervalSince1970)
        var tampered = Simulator.svixHeaders(body, id: "msg_1", timestamp: now)
        tampered["svix-signature"] = "v1," + Data(repeating: 7, count: 32).base64EncodedString()
        let wrongKey = Simulator.svixHeaders(body, id: "msg_1", timestamp: now, secret: "whsec_" + Data("another".utf8).base64EncodedString())
        let old = Simulator.svixHeaders(body, id: "msg_1", timestamp: now - 600)
        for headers in [tampered, wrongKey, old, ["Content-Type": "application/json"]] {
            #expect(try await t.client.send("POST", "/webhooks/agentmail", body: body, headers: headers).status == 401)
        }
        let sms = try JSONSerialization.data(withJSONObject: ["data": ["event_type": "message.received", "id": "e1",
                                                                       "payload": ["from": ["phone_number": "+1555"], "to": [["phone_number": a.phone]], "text": "hi"]]])
        var badSMS = Simulator.telnyxHeaders(sms, timestamp: now)
        badSMS["telnyx-timestamp"] = String(now + 1)
        #expect(try await t.client.send("POST", "/webhooks/telnyx", body: sms, headers: badSMS).status == 401, "signature of another timestamp")
        #expect(try await t.client.send("POST", "/webhooks/telnyx", body: sms, headers: Simulator.telnyxHeaders(sms, timestamp: now - 600)).status == 401)
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.inbound_events") == 0, "nothing kept")
        // A good one for an inbox of no instance of ours: 200, counted, kept nowhere.
        let stranger = try JSONSerialization.data(withJSONObject: ["type": "event", "event_type": "message.received", "event_id": "evt_2",
                                                                   "message": ["inbox_id": "nobody@agentmail.to", "message_id": "<m@x>"]])
        #expect(try await t.client.send("POST", "/webhooks/agentmail", body: stranger, headers: Simulator.svixHeaders(stranger, id: "msg_2", timestamp: now)).status == 200)
        #expect(try await t.count("SELECT count(*)::int AS n FROM services.inbound_events") == 0)
        #expect(try await notifications(t, a.instance).isEmpty)
        await t.stop()
    }

    /// The runtime down: the event waits in the outbox (retried with backoff) and reaches it once
    /// it is back, once, although the provider sent it twice meanwhile.
    @Test func heldWhileTheRuntimeIsDownAndDeliveredOnce() async throws {
        let (t, a) = try await start()
        try await t.setRuntime(a.instance, ["down": true])
        let body = try JSONSerialization.data(withJSONObject: ["type": "event", "event_type": "message.received", "event_id": "evt_down",
                                                               "message": ["inbox_id": a.inbox, "message_id": "<m1@x>", "from": "Bo", "subject": "Hi"]])
        let headers = Simulator.svixHeaders(body, id: "msg_down", timestamp: Int(Date().timeIntervalSince1970))
        #expect(try await t.client.send("POST", "/webhooks/agentmail", body: body, headers: headers).status == 200)
        try await eventually("tried and refused") {
            try await t.count("SELECT count(*)::int AS n FROM services.inbound_events WHERE attempts >= 2 AND delivered_at IS NULL") == 1
        }
        #expect(try await t.client.send("POST", "/webhooks/agentmail", body: body, headers: headers).status == 200, "the provider's repeat")
        try await t.setRuntime(a.instance, ["down": false])
        try await eventually("delivered once it is back", timeout: .seconds(30)) { try await notifications(t, a.instance).count == 1 }
        try await eventually("recorded delivered") {
            try await t.count("SELECT count(*)::int AS n FROM services.inbound_events WHERE delivered_at IS NOT NULL") == 1
        }
        #expect(try await notifications(t, a.instance).count == 1, "once")
        await t.stop()
    }

    /// With PUBLIC_URL, the controller registers AgentMail's webhook and the Telnyx profile's webhook
    /// URL, found first and never made twice.
    @Test func webhooksAreRegisteredOnce() async throws {
        let t = try await TestController.start(simulate: true) { c in c.publicURL = "http://127.0.0.1:0" }
        let sim = TestHTTPClient(base: t.controller.simulator!.baseURL)
        let auth = ["Authorization": "Bearer sim"]
        try await eventually("AgentMail's webhook registered") {
            let hooks = try await sim.send("GET", "/agentmail/v0/webhooks", headers: auth).json()["webhooks"] as? [[String: Any]] ?? []
            return hooks.count == 1 && hooks[0]["url"] as? String == "\(t.url)/webhooks/agentmail"
        }
        try await eventually("the Telnyx profile's webhook URL set") {
            let profiles = try await sim.send("GET", "/telnyx/v2/messaging_profiles", headers: auth).json()["data"] as? [[String: Any]] ?? []
            guard let profile = profiles.first?["id"] as? String else { return false }
            let shown = try await sim.send("GET", "/telnyx/v2/messaging_profiles/\(profile)", headers: auth).json()["data"] as? [String: Any]
            return shown?["webhook_url"] as? String == "\(t.url)/webhooks/telnyx"
        }
        let services = try #require(t.controller.services as? InProcessServices)
        let again = try await services.ensureInboundWebhooks(base: t.url)
        #expect(again.created.isEmpty && again.agentMailSecret?.hasPrefix("whsec_") == true, "found, not made again")
        let hooks = try await sim.send("GET", "/agentmail/v0/webhooks", headers: auth).json()["webhooks"] as? [[String: Any]] ?? []
        #expect(hooks.count == 1)
        await t.stop()
    }
}
