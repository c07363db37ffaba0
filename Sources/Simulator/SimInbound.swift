import Digest
import Foundation

/// Inbound mail and texts, delivered to a webhook URL the providers' ways: AgentMail's signed as
/// Svix does (HMAC-SHA256 with the endpoint secret), Telnyx's with Ed25519. The simulator's own
/// secret and key are fixed, so `serve --simulate` verifies them without configuration.
extension Simulator {
    /// The endpoint secret AgentMail would give (`whsec_` and base64).
    public static let agentMailWebhookSecret = "whsec_" + Data("convos-simulated-agentmail-webhooks".utf8).base64EncodedString()
    static let telnyxSeed: [UInt8] = Array(SHA256.hash(Array("convos-simulated-telnyx-webhooks".utf8)))
    /// The account's public key Telnyx's portal shows (base64 of 32 bytes).
    public static var telnyxPublicKey: String { Data(Ed25519.publicKey(seed: telnyxSeed)).base64EncodedString() }

    /// Svix's headers for `body`, at `timestamp` (Unix seconds), signed with `secret`.
    public static func svixHeaders(_ body: Data, id: String, timestamp: Int, secret: String = agentMailWebhookSecret) -> [String: String] {
        let key = Data(base64Encoded: String(secret.dropFirst(6))).map { [UInt8]($0) } ?? []
        let signature = Data(HMACSHA256.mac(key: key, Array("\(id).\(timestamp).".utf8) + [UInt8](body))).base64EncodedString()
        return ["svix-id": id, "svix-timestamp": String(timestamp), "svix-signature": "v1,\(signature)", "Content-Type": "application/json"]
    }

    /// Telnyx's headers for `body` at `timestamp`.
    public static func telnyxHeaders(_ body: Data, timestamp: Int) -> [String: String] {
        let signature = Ed25519.sign(seed: telnyxSeed, Array("\(timestamp)|".utf8) + [UInt8](body))
        return ["telnyx-signature-ed25519": Data(signature).base64EncodedString(), "telnyx-timestamp": String(timestamp),
                "Content-Type": "application/json"]
    }
}

extension SimCloud {
    /// `POST /_sim/agentmail/inbound {"inbox","from","subject","text","url"}`: the message lands in the
    /// inbox and `message.received` is posted to `url`, signed.
    func inboundMail(_ body: Data) async -> SimResponse {
        guard let r = jsonObject(body), let inbox = r["inbox"] as? String, let url = r["url"] as? String,
              let mail = receiveMail(inbox: inbox, from: r["from"] as? String ?? "someone@example.com", subject: r["subject"] as? String ?? "",
                                     text: r["text"] as? String ?? "") else { return .json(["error": "no such inbox"], status: 404) }
        let event: [String: Any] = ["type": "event", "event_type": "message.received", "event_id": nextID("evt_"),
                                    "message": mailObject(mail), "thread": ["thread_id": mail.threadID, "inbox_id": inbox]]
        let data = (try? JSONSerialization.data(withJSONObject: event)) ?? Data()
        let headers = Simulator.svixHeaders(data, id: nextID("msg_"), timestamp: Int(clock.now.timeIntervalSince1970))
        let status = await webhooks.post(url, data, headers: headers)
        return .json(["messageId": mail.id, "webhookStatus": status])
    }

    /// `POST /_sim/telnyx/inbound {"to","from","text","url"}`: the text arrives and `message.received`
    /// is posted to `url`, signed.
    func inboundText(_ body: Data) async -> SimResponse {
        guard let r = jsonObject(body), let to = r["to"] as? String, let url = r["url"] as? String else {
            return .json(["error": "to and url are required"], status: 400)
        }
        let sms = receiveSMS(to: to, from: r["from"] as? String ?? "+15550001111", text: r["text"] as? String ?? "")
        let event: [String: Any] = ["data": ["event_type": "message.received", "id": uuid(), "record_type": "event",
                                             "payload": smsObject(sms)], "meta": ["attempt": 1, "delivered_to": url]]
        let data = (try? JSONSerialization.data(withJSONObject: event)) ?? Data()
        let status = await webhooks.post(url, data, headers: Simulator.telnyxHeaders(data, timestamp: Int(clock.now.timeIntervalSince1970)))
        return .json(["messageId": sms.id, "webhookStatus": status])
    }
}
