import Digest
import Foundation
import HTTPServer
import Resources
import Services
import Sync
import Telemetry

/// `POST /webhooks/agentmail` and `POST /webhooks/telnyx` (CONTRACT.md section 8): public routes,
/// each delivery verified the provider's way (AgentMail: Svix HMAC-SHA256 with
/// `AGENTMAIL_WEBHOOK_SECRET`; Telnyx: Ed25519 with `TELNYX_PUBLIC_KEY`), a timestamp more than 5
/// minutes off refused: 401, nothing delivered. A verified `message.received` is matched to the
/// instance owning the inbox or number and kept as an outbox row keyed by the provider's event id
/// (a repeat is a no-op), which the services deliver to the runtime's `/convos/notify`. An event
/// for no instance of ours is answered 200 and counted, so the provider does not retry it for a day.
public struct InboundWebhooks: Sendable {
    let services: InProcessServices
    /// The raw key of `whsec_<base64>`; nil: AgentMail's webhooks are refused. Set at start from
    /// `AGENTMAIL_WEBHOOK_SECRET`, or from the webhook the controller registered.
    let agentMailKey: Locked<[UInt8]?>
    /// The account's Ed25519 public key; nil: Telnyx's webhooks are refused.
    let telnyxKey: [UInt8]?
    let clock: any Clock
    let metrics: Metrics
    /// Wakes the delivery loop: the runtime hears of it at once, not at the next poll.
    let delivered: @Sendable () async -> Void
    static let tolerance: TimeInterval = 300

    public init(services: InProcessServices, agentMailSecret: String?, telnyxPublicKey: String?, clock: any Clock, metrics: Metrics,
                wake: @escaping @Sendable () async -> Void) {
        self.services = services
        self.agentMailKey = Locked(agentMailSecret.flatMap(Self.svixKey))
        self.telnyxKey = telnyxPublicKey.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }.flatMap { $0.count == 32 ? $0 : nil }
        self.clock = clock
        self.metrics = metrics
        self.delivered = wake
    }

    /// `whsec_<base64>` → the key bytes.
    public static func svixKey(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))), !data.isEmpty else { return nil }
        return [UInt8](data)
    }

    /// The secret of the webhook the controller registered, when none was configured.
    public func useRegisteredSecret(_ secret: String) {
        guard let key = Self.svixKey(secret) else { return }
        agentMailKey.withLock { if $0 == nil { $0 = key } }
    }

    func add(_ router: inout Router) {
        let hooks = self
        router.add("POST", "/webhooks/agentmail") { request in await hooks.agentMail(request) }
        router.add("POST", "/webhooks/telnyx") { request in await hooks.telnyx(request) }
    }

    func agentMail(_ request: HTTPRequest) async -> HTTPResponse {
        guard let key = agentMailKey.withLock({ $0 }) else { return refuse("agentmail", "AGENTMAIL_WEBHOOK_SECRET is not set: AgentMail's webhooks are refused") }
        guard let id = request.header("svix-id"), let stamp = request.header("svix-timestamp"), let seconds = Double(stamp),
              let signatures = request.header("svix-signature") else { return refuse("agentmail", "missing Svix headers") }
        guard abs(clock.now.timeIntervalSince1970 - seconds) <= Self.tolerance else { return refuse("agentmail", "timestamp too far from now") }
        let expected = Data(HMACSHA256.mac(key: key, Array("\(id).\(stamp).".utf8) + [UInt8](request.body))).base64EncodedString()
        let given = signatures.split(separator: " ").compactMap { part -> String? in
            part.hasPrefix("v1,") ? String(part.dropFirst(3)) : nil
        }
        guard given.contains(where: { ConstantTime.equal($0, expected) }) else { return refuse("agentmail", "bad signature") }
        guard let event = JSONValue(jsonBody: request.body), event["event_type"]?.stringValue == "message.received",
              let message = event["message"], let inbox = message["inbox_id"]?.stringValue else { return ok("agentmail", "ignored") }
        let text = "[System: new email] From: \(message["from"]?.stringValue ?? "unknown") | Subject: \(message["subject"]?.stringValue ?? "") | ID: \(message["message_id"]?.stringValue ?? "")"
        return await keep("agentmail", eventID: event["event_id"]?.stringValue ?? id, tool: .email, owner: inbox, text: text)
    }

    func telnyx(_ request: HTTPRequest) async -> HTTPResponse {
        guard let key = telnyxKey else { return refuse("telnyx", "TELNYX_PUBLIC_KEY is not set: Telnyx's webhooks are refused") }
        guard let signature = request.header("telnyx-signature-ed25519").flatMap({ Data(base64Encoded: $0) }),
              let stamp = request.header("telnyx-timestamp"), let seconds = Double(stamp) else { return refuse("telnyx", "missing Telnyx headers") }
        guard abs(clock.now.timeIntervalSince1970 - seconds) <= Self.tolerance else { return refuse("telnyx", "timestamp too far from now") }
        guard Ed25519.verify(publicKey: key, Array("\(stamp)|".utf8) + [UInt8](request.body), signature: [UInt8](signature)) else {
            return refuse("telnyx", "bad signature")
        }
        guard let data = JSONValue(jsonBody: request.body)?["data"], data["event_type"]?.stringValue == "message.received",
              let payload = data["payload"] else { return ok("telnyx", "ignored") }
        let from = payload["from"]?["phone_number"]?.stringValue ?? "unknown"
        let body = payload["text"]?.stringValue ?? ""
        let text = "You got a new text. \"\(String(body.prefix(80)))\" from \(from)"
        let numbers = payload["to"]?.arrayValue?.compactMap { $0["phone_number"]?.stringValue } ?? []
        for number in numbers {
            if let instance = try? await services.instanceOwning(.sms, number) {
                return await keep("telnyx", eventID: data["id"]?.stringValue ?? UUID().uuidString, instance: instance, text: text)
            }
        }
        return ok("telnyx", "unmatched")
    }

    private func keep(_ provider: String, eventID: String, tool: ToolName, owner: String, text: String) async -> HTTPResponse {
        guard let instance = try? await services.instanceOwning(tool, owner) else { return ok(provider, "unmatched") }
        return await keep(provider, eventID: eventID, instance: instance, text: text)
    }

    private func keep(_ provider: String, eventID: String, instance: String, text: String) async -> HTTPResponse {
        do {
            let fresh = try await services.enqueueInbound(provider: provider, eventID: eventID, instanceID: instance, text: text)
            if fresh { await delivered() }
            return ok(provider, fresh ? "accepted" : "duplicate")
        } catch {
            // The provider sends it again later: nothing is lost.
            metrics.increment("convos_inbound_webhooks_total", ["provider": provider, "outcome": "failed"])
            return InstanceCalls.json(["error": .string("not stored; send again")], status: 503)
        }
    }

    private func ok(_ provider: String, _ outcome: String) -> HTTPResponse {
        metrics.increment("convos_inbound_webhooks_total", ["provider": provider, "outcome": outcome])
        return InstanceCalls.json(["ok": .bool(true)])
    }

    private func refuse(_ provider: String, _ message: String) -> HTTPResponse {
        metrics.increment("convos_inbound_webhooks_total", ["provider": provider, "outcome": "refused"])
        return InstanceCalls.json(["error": .string(message)], status: 401)
    }
}
