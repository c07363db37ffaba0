import Foundation
import Testing
import Postgres
import AppTestSupport
import TestSupport

/// The services proxy (issue 24, CONTRACT.md section 8): a runtime sends and reads mail and texts
/// through the controller with its own credentials, on its own inbox and number only.
@Suite struct ServicesProxyTests {
    struct Runtime {
        let agent: String
        let instance: String
        let token: String
        var auth: [String: String] { ["Authorization": "Bearer \(instance):\(token)", "Content-Type": "application/json"] }
    }

    func start() async throws -> TestController {
        let t = try await TestController.start(simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(2, max: 6), Specs.conciergeTemplate))
        try await eventually("2 idle") { try await t.idle() == 2 }
        return t
    }

    func claim(_ t: TestController, owner: String) async throws -> Runtime {
        let body = try await t.claim("concierge", owner: owner).json()
        let agent = try #require(body["agent"] as? String), instance = try #require(body["instanceId"] as? String)
        try await eventually("Ready") { try await t.phase(agent) == "Ready" }
        return Runtime(agent: agent, instance: instance, token: try await t.gatewayToken(instance))
    }

    func call(_ t: TestController, _ r: Runtime, _ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> TestHTTPClient.Response {
        try await t.client.send(method, "/api/proxy/" + path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) }, headers: r.auth)
    }

    /// A raw request line, so the path reaches the server exactly as written (no client normalising `..`).
    func raw(_ t: TestController, _ r: Runtime, _ path: String) async throws -> Int {
        let connection = try await RawConnection(port: t.controller.port)
        await connection.send("GET /api/proxy/\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(r.instance):\(r.token)\r\nConnection: close\r\n\r\n")
        let answer = String(decoding: await connection.readUntilClosed(timeout: 5).data, as: UTF8.self)
        return Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func encoded(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? id
    }

    /// End to end on today's runtime: the agent's own inbox and number, an email sent and read back
    /// and labelled, a text sent from its own number and read back, each send an event without its text.
    @Test func sendAndReadThroughTheProxy() async throws {
        let t = try await start()
        let a = try await claim(t, owner: "u1")
        let info = try await call(t, a, "GET", "info").json()
        let inbox = try #require(info["email"] as? String), phone = try #require(info["phone"] as? String)
        #expect(info["instanceId"] as? String == a.instance && phone.hasPrefix("+1"))

        let sent = try await call(t, a, "POST", "email/send", ["to": ["friend@example.com"], "subject": "Hello", "text": "Sekr3t body"])
        #expect(sent.status == 200, "\(sent.text)")
        let messageID = try #require(try sent.json()["message_id"] as? String)
        let listed = try await call(t, a, "GET", "email/messages?limit=10&labels=sent").json()
        #expect((listed["messages"] as? [[String: Any]])?.first?["message_id"] as? String == messageID)
        #expect(try await call(t, a, "GET", "email/threads").status == 200)
        let one = try await call(t, a, "GET", "email/messages/\(Self.encoded(messageID))")
        #expect(try one.status == 200 && (one.json()["inbox_id"] as? String) == inbox)
        let labelled = try await call(t, a, "PATCH", "email/messages/\(Self.encoded(messageID))", ["add_labels": ["read"]])
        #expect(try labelled.status == 200 && ((labelled.json()["labels"] as? [String]) ?? []).contains("read"))

        let text = try await call(t, a, "POST", "sms/send", ["to": "+15551230000", "text": "Sekr3t text"])
        #expect(text.status == 200, "\(text.text)")
        let data = try text.json()["data"] as? [String: Any]
        #expect((data?["from"] as? [String: Any])?["phone_number"] as? String == phone)
        let smsID = try #require(data?["id"] as? String)
        #expect(try await call(t, a, "GET", "sms/messages/\(smsID)").status == 200)
        #expect(try await call(t, a, "GET", "sms/records?filter[direction]=outbound&page[size]=5").status == 200)

        let events = try await t.controller.db.query("SELECT reason, message FROM pool.events WHERE name = $1", [a.agent]).rows
            .map { try $0.decode("reason", as: String.self) + ": " + $0.decode("message", as: String.self) }
        #expect(events.contains { $0.hasPrefix("EmailSent: sent an email to 1 recipient") } && events.contains { $0.hasPrefix("SMSSent") })
        #expect(!events.joined().contains("Sekr3t"), "an event holds a message's text")
        let metrics = try await t.client.get("/metrics").text
        #expect(metrics.contains(#"convos_proxy_calls_total{outcome="ok",route="email/send",tool="email"} 1"#))
        // The proxy's own time apart from the provider's: one observation per call.
        #expect(metrics.contains(#"convos_proxy_added_seconds_count{route="email/send"} 1"#))
        await t.stop()
    }

    /// Each answered 4xx with nothing read or sent elsewhere: no or wrong credentials, another
    /// instance's pair, ids that would leave their segment, another inbox's message, another
    /// number's text, a `from` in the body, an undocumented query parameter.
    @Test func isolation() async throws {
        let t = try await start()
        let a = try await claim(t, owner: "u1")
        let b = try await claim(t, owner: "u2")
        let secret = try await call(t, b, "POST", "email/send", ["to": ["x@example.com"], "subject": "B's secret", "text": "for b only"])
        let bMessage = try #require(try secret.json()["message_id"] as? String)
        let bText = try await call(t, b, "POST", "sms/send", ["to": "+15551239999", "text": "b's text"])
        let bTextID = try #require((try bText.json()["data"] as? [String: Any])?["id"] as? String)
        let bPhone = try #require(try await call(t, b, "GET", "info").json()["phone"] as? String)

        #expect(try await t.client.send("GET", "/api/proxy/info").status == 401)
        let crossed = Runtime(agent: a.agent, instance: b.instance, token: a.token)
        #expect(try await call(t, crossed, "GET", "info").status == 403, "a's token on b's id")
        #expect(try await call(t, Runtime(agent: a.agent, instance: a.instance, token: "wrong"), "GET", "email/messages").status == 403)

        let other = try await call(t, a, "GET", "email/messages/\(Self.encoded(bMessage))")
        #expect(other.status == 404 && !other.text.contains("B's secret"), "another inbox's message id reads a's inbox only")
        let otherText = try await call(t, a, "GET", "sms/messages/\(bTextID)")
        #expect(otherText.status == 404 && !otherText.text.contains("b's text"), "another number's text")
        for path in ["email/messages/..%2F..%2Fother%2Fmessages%2Fx", "email/messages/%2e%2e", "email/messages/a%2Fb", "email/messages/a%3Fb",
                     "email/messages/a%23b", "email/messages/a%00b", "email/messages/a%5Cb", "sms/messages/..%2Fphone_numbers",
                     "sms/messages/%2e%2e%2fphone_numbers", "email/messages/x/../../threads"] {
            let status = try await raw(t, a, path)
            #expect((400..<500).contains(status), "\(path) answered \(status)")
        }
        let fromInBody = try await call(t, a, "POST", "sms/send", ["to": "+15551230000", "text": "x", "from": bPhone])
        #expect(fromInBody.status == 400)
        let profileInBody = try await call(t, a, "POST", "sms/send", ["to": "+15551230000", "text": "x", "messaging_profile_id": "p"])
        #expect(profileInBody.status == 400)
        #expect(try await call(t, a, "GET", "email/messages?inbox_id=other").status == 400, "an undocumented query parameter")
        #expect(try await call(t, a, "GET", "sms/records?filter[cld]=\(Self.encoded(bPhone))").status == 400, "another number's records")
        #expect(try await call(t, a, "POST", "email/send", ["to": ["x@example.com"], "inbox_id": "other"]).status == 400)
        // Nothing was sent from a's number or inbox by any of these.
        let aRecords = try await call(t, a, "GET", "sms/records?filter[direction]=outbound").json()
        #expect((aRecords["data"] as? [Any])?.isEmpty == true)
        let aSent = try await call(t, a, "GET", "email/messages?labels=sent").json()
        #expect((aSent["messages"] as? [Any])?.isEmpty == true)
        await t.stop()
    }

    /// Tools on first use: an agent whose template declares a tool may give it back and make it
    /// again; the reconciler does not make a given-back tool again by itself; a tool the template
    /// does not declare cannot be made.
    @Test func toolsGivenBackAndMadeAgainOnFirstUse() async throws {
        let t = try await start()
        let a = try await claim(t, owner: "u1")
        let phone = try #require(try await call(t, a, "GET", "info").json()["phone"] as? String)
        let again = try await call(t, a, "POST", "sms/provision").json()
        #expect(again["phone"] as? String == phone && again["provisioned"] as? Bool == false, "idempotent")
        let released = try await call(t, a, "POST", "sms/unprovision").json()
        #expect(released["unprovisioned"] as? Bool == true)
        #expect(try await call(t, a, "GET", "info").json()["phone"] is NSNull)
        let ticks = await t.controller.reconciler.snapshot.ticks
        try await eventually("ten ticks later") { await t.controller.reconciler.snapshot.ticks >= ticks + 10 }
        #expect(try await call(t, a, "GET", "info").json()["phone"] is NSNull, "not made again by the reconciler")
        #expect(try await t.phase(a.agent) == "Ready")
        let made = try await call(t, a, "POST", "sms/provision").json()
        #expect(made["provisioned"] as? Bool == true && (made["phone"] as? String)?.hasPrefix("+1") == true)
        let none = try await call(t, a, "POST", "sms/unprovision")
        #expect(none.status == 200)
        let twice = try await call(t, a, "POST", "sms/unprovision")
        #expect(try twice.json()["reason"] as? String == "not_provisioned", "\(twice.text) after \(none.text)")
        await t.stop()
    }
}
