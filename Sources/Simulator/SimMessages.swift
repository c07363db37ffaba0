import Foundation

/// Messages the services proxy reads and sends: AgentMail's per inbox (`messages/send`, the
/// `messages` and `threads` lists, one message, its labels) and Telnyx's (`POST /v2/messages`, one
/// message, `detail_records`). Sends from an inbox or number the account does not hold are refused
/// as the providers refuse them.
extension SimCloud {
    struct Mail { var id, threadID, inbox, from: String; var to: [String]; var subject, text: String; var labels: [String]; var at: Date }
    struct SMS { var id, from: String; var to: [String]; var text, direction: String; var profile: String?; var at: Date }

    func agentMailMessages(method: String, inbox: String, rest: [String], query: [String: String], body: Data, authorization: String?) -> SimResponse {
        guard let auth = authorization, auth.hasPrefix("Bearer "), auth.count > 7 else {
            return .json(["name": "Error", "code": "missing_authorization", "message": "Unauthorized"], status: 401)
        }
        guard inboxes[inbox] != nil else { return .json(["name": "NotFoundError", "message": "Inbox not found"], status: 404) }
        switch (method, rest) {
        case ("POST", ["messages", "send"]):
            guard let request = jsonObject(body) else { return .json(["name": "ValidationError", "message": "body must be JSON"], status: 400) }
            let to = (request["to"] as? [String]) ?? (request["to"] as? String).map { [$0] } ?? []
            guard !to.isEmpty else { return .json(["name": "ValidationError", "message": "to is required"], status: 400) }
            let mail = Mail(id: "<\(nextID())@agentmail.to>", threadID: nextID("thr_"), inbox: inbox, from: inbox, to: to,
                            subject: request["subject"] as? String ?? "", text: request["text"] as? String ?? "", labels: ["sent"], at: clock.now)
            mails[inbox, default: []].append(mail)
            return .json(["message_id": mail.id, "thread_id": mail.threadID])
        case ("GET", ["messages"]), ("GET", ["threads"]):
            let limit = Int(query["limit"] ?? "") ?? 50
            let wanted = query["labels"]
            let list = (mails[inbox] ?? []).filter { mail in wanted.map { mail.labels.contains($0) } ?? true }.reversed().prefix(limit)
            if rest == ["threads"] {
                return .json(["count": list.count, "threads": list.map { ["thread_id": $0.threadID, "inbox_id": inbox, "subject": $0.subject] }])
            }
            return .json(["count": list.count, "messages": list.map(mailObject)])
        case ("GET", let path) where path.count == 2 && path[0] == "messages":
            guard let mail = mails[inbox]?.first(where: { $0.id == path[1] }) else {
                return .json(["name": "NotFoundError", "message": "Message not found"], status: 404)
            }
            return .json(mailObject(mail))
        case ("PATCH", let path) where path.count == 2 && path[0] == "messages":
            guard let index = mails[inbox]?.firstIndex(where: { $0.id == path[1] }) else {
                return .json(["name": "NotFoundError", "message": "Message not found"], status: 404)
            }
            let request = jsonObject(body) ?? [:]
            var labels = Set(mails[inbox]![index].labels)
            labels.formUnion(request["add_labels"] as? [String] ?? [])
            labels.subtract(request["remove_labels"] as? [String] ?? [])
            mails[inbox]![index].labels = labels.sorted()
            return .json(mailObject(mails[inbox]![index]))
        default:
            return .json(["name": "NotFoundError", "message": "Not found"], status: 404)
        }
    }

    /// A message arriving at an inbox (`POST /_sim/agentmail/inbound`), labelled received and unread.
    func receiveMail(inbox: String, from: String, subject: String, text: String) -> Mail? {
        guard inboxes[inbox] != nil else { return nil }
        let mail = Mail(id: "<\(nextID())@mail.example>", threadID: nextID("thr_"), inbox: inbox, from: from, to: [inbox],
                        subject: subject, text: text, labels: ["received", "unread"], at: clock.now)
        mails[inbox, default: []].append(mail)
        return mail
    }

    func mailObject(_ m: Mail) -> [String: Any] {
        ["message_id": m.id, "thread_id": m.threadID, "inbox_id": m.inbox, "from": m.from, "to": m.to, "subject": m.subject,
         "text": m.text, "labels": m.labels, "timestamp": iso(m.at), "attachments": [Any]()]
    }

    /// Telnyx: `POST /v2/messages`, `GET /v2/messages/{id}`, `GET /v2/detail_records`.
    func telnyxMessages(method: String, path: [String], query: [String: String], body: Data) -> SimResponse? {
        switch (method, path.first, path.count) {
        case ("POST", "messages", 1):
            guard let request = jsonObject(body), let from = request["from"] as? String, let text = request["text"] as? String else {
                return telnyxError(422, "10004", "Missing required parameter")
            }
            let to = (request["to"] as? String).map { [$0] } ?? (request["to"] as? [String]) ?? []
            // Only a number of the account on a messaging profile may send.
            guard let number = numbers.values.first(where: { $0.phoneNumber == from && $0.status != "deleted" }), number.messagingProfileID != nil
                    || request["messaging_profile_id"] != nil else {
                return telnyxError(422, "40305", "Invalid 'from' address")
            }
            let sms = SMS(id: uuid(), from: from, to: to, text: text, direction: "outbound",
                          profile: request["messaging_profile_id"] as? String ?? number.messagingProfileID, at: clock.now)
            texts.append(sms)
            return .json(["data": smsObject(sms)])
        case ("GET", "messages", 2):
            guard let sms = texts.first(where: { $0.id == path[1] }) else { return telnyxError(404, "10005", "Resource not found") }
            return .json(["data": smsObject(sms)])
        case ("GET", "detail_records", 1):
            let cld = query["filter[cld]"]
            let direction = query["filter[direction]"]
            let size = Int(query["page[size]"] ?? "") ?? 20
            let records = texts.filter { sms in
                (cld.map { sms.to.contains($0) } ?? true) && (direction.map { sms.direction == $0 } ?? true)
            }.suffix(size)
            return .json(["data": records.map { ["record_type": "message_detail_record", "id": $0.id, "cli": $0.from, "cld": $0.to.first ?? "",
                                                  "direction": $0.direction, "created_at": iso($0.at)] },
                          "meta": ["total_results": records.count]])
        default:
            return nil
        }
    }

    /// A text arriving at one of the account's numbers.
    func receiveSMS(to: String, from: String, text: String) -> SMS {
        let sms = SMS(id: uuid(), from: from, to: [to], text: text, direction: "inbound", profile: nil, at: clock.now)
        texts.append(sms)
        return sms
    }

    func smsObject(_ s: SMS) -> [String: Any] {
        ["id": s.id, "record_type": "message", "direction": s.direction, "from": ["phone_number": s.from],
         "to": s.to.map { ["phone_number": $0, "status": s.direction == "outbound" ? "queued" : "delivered"] }, "text": s.text,
         "messaging_profile_id": s.profile as Any? ?? NSNull(), "received_at": iso(s.at)]
    }
}
