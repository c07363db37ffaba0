import Foundation
import Postgres
import Providers
import Resources
import Store

/// An agent's phone number (`sms`), kept in `services.phone_numbers` by the order's and the
/// number's ids: from the reuse pool first, else searched, picked at random among about 20 and
/// ordered on the messaging profile (a collision means a new search and pick), the profile checked
/// once the number exists. At teardown it goes back to the pool (`TELNYX_RELEASE=pool`, the default: numbers cost
/// money) or is released (`delete`).
extension InProcessServices {
    /// Called by `provision` for `sms`, one at a time per instance (the work queue's key).
    /// `repeated`: an earlier attempt may have ordered without recording it.
    package func phoneNumber(_ id: String, name: String, options: ToolOptions, repeated: Bool) async throws -> ToolObservation {
        let telnyx = providers.telnyx
        guard telnyx.isConfigured else {
            throw ServicesError(status: 503, code: .providerNotConfigured, message: "telnyx: TELNYX_API_KEY is not set")
        }
        if let held = try await db.query("""
            SELECT id, state, order_id, number_id, phone_number, messaging_profile_id FROM services.phone_numbers WHERE instance_id = $1
            """, [id]).first {
            let row = try NumberRow(held)
            return row.state == .assigned ? ready(row) : try await follow(row, name: name)
        }
        if let reused = try await db.query("""
            UPDATE services.phone_numbers SET state = 'assigned', instance_id = $1, released_at = NULL, updated_at = now()
            WHERE id = (SELECT id FROM services.phone_numbers WHERE state = 'available' ORDER BY released_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING id, state, order_id, number_id, phone_number, messaging_profile_id
            """, [id]).first {
            var row = try NumberRow(reused)
            let profile = try await messagingProfile()
            try await provider { () async throws(ProviderError) in
                if row.messagingProfileID != profile { try await telnyx.attach(numberID: row.numberID!, messagingProfileID: profile) }
                try await telnyx.label(numberID: row.numberID!, reference: name)
            }
            row.messagingProfileID = profile
            _ = try await db.query("UPDATE services.phone_numbers SET messaging_profile_id = $2 WHERE id = $1", [row.id, profile])
            return ready(row)
        }
        if repeated, let placed = try await provider({ () async throws(ProviderError) in try await telnyx.orders(reference: name) })
            .first(where: { $0.status != .failure }) {
            return try await follow(try await recordOrder(id, placed), name: name)
        }
        // Everyone searching at once sees the same numbers. Here, numbers are handed out from one
        // shared search (`NumberCandidates`), so concurrent orders on this process never collide;
        // each search asks for numbers ending in a random digit, so other replicas' mostly differ;
        // a collision drops the list and searches again.
        let profile = try await messagingProfile()
        let country = options.country ?? "US"
        for attempt in 0..<8 {
            let digit = attempt < 6 ? String(Int.random(in: 0...9)) : nil
            let candidate: String?
            do {
                candidate = try await numbers.take(country: country) { try await telnyx.search(country: country, endsWith: digit) }
            } catch let error as ProviderError {
                throw ServicesError.provider(error)
            }
            guard let number = candidate else { continue }
            // An order is not idempotent: a leader frozen during the search must not place one when
            // it wakes, after the next leader has ordered this instance's number.
            try ServicesDB.checkFence()
            do {
                let placed = try await telnyx.order(number, reference: name, messagingProfileID: profile)
                return try await follow(try await recordOrder(id, placed), name: name)
            } catch let error as ProviderError where error.kind == .conflict {
                await numbers.stale(country: country)
                continue
            } catch let error as ProviderError {
                throw ServicesError.provider(error)
            }
        }
        throw ServicesError.provider(ProviderError(.retryable, provider: "telnyx", message: "every number searched was taken by others; searching again later"))
    }

    /// How long after its order completed a number may still be missing from Telnyx's list before
    /// it is taken to be gone from the account.
    package static let numberVisibleWithin: Double = 600

    /// Gives the instance's number back: to the reuse pool, or released at Telnyx. An order
    /// still pending is waited for (its number cannot be given back before it exists); a number
    /// missing from the account long after its order completed is taken to be gone already.
    package func giveBackNumber(_ id: String, name: String) async throws {
        guard let held = try await db.query("""
            SELECT id, state, order_id, number_id, phone_number, messaging_profile_id FROM services.phone_numbers WHERE instance_id = $1
            """, [id]).first else {
            // No row: an order whose answer was lost (or a crash before its record) may still hold
            // a number under our name. Found by the orders' reference, and given back as any other.
            try await giveBackUnrecorded(id, name: name)
            return
        }
        var row = try NumberRow(held)
        let telnyx = providers.telnyx
        if row.state == .ordering {
            let order = try await provider { () async throws(ProviderError) in try await telnyx.order(id: row.orderID ?? "") }
            switch order?.status {
            case .pending?:
                throw ServicesError.provider(ProviderError(.retryable, provider: "telnyx", message: "number order for \(name) still pending; release after it completes"))
            case .success?:
                break
            case .failure?, nil:
                _ = try await db.query("DELETE FROM services.phone_numbers WHERE id = $1", [row.id])
                return
            }
        }
        if row.numberID == nil {
            // Assigned at the order's success; its own id is found now, by the number itself.
            guard let found = try await provider({ () async throws(ProviderError) in try await telnyx.number(row.phoneNumber)?.id }) else {
                // Telnyx lists a completed order's number within seconds. One still missing long
                // after is gone from the account (released by hand, say): nothing is left to give
                // back, and waiting for it would hold the teardown, and the project, forever.
                let overdue: Bool = try await db.query("""
                    SELECT updated_at < now() - make_interval(secs => $2) AS overdue FROM services.phone_numbers WHERE id = $1
                    """, [row.id, Self.numberVisibleWithin]).first?.decode("overdue") ?? true
                if overdue {
                    _ = try await db.query("UPDATE services.phone_numbers SET state = 'released', instance_id = NULL, number_id = NULL, released_at = now(), updated_at = now() WHERE id = $1", [row.id])
                    return
                }
                throw ServicesError.provider(ProviderError(.retryable, provider: "telnyx", message: "number of \(name) not visible yet"))
            }
            row.numberID = found
            _ = try await db.query("UPDATE services.phone_numbers SET number_id = $2 WHERE id = $1", [row.id, found])
        }
        guard let numberID = row.numberID else { return }
        switch settings.telnyxRelease {
        case .pool:
            try await provider { () async throws(ProviderError) in try await telnyx.label(numberID: numberID, reference: "convos-pool") }
            _ = try await db.query("""
                UPDATE services.phone_numbers SET state = 'available', instance_id = NULL, number_id = $2, released_at = now(), updated_at = now()
                WHERE id = $1
                """, [row.id, numberID])
        case .delete:
            try await provider { () async throws(ProviderError) in
                try await telnyx.release(numberID: numberID)
                guard try await telnyx.isGone(numberID: numberID) else {
                    throw ProviderError(.retryable, provider: "telnyx", message: "\(name)'s number still present after release")
                }
            }
            _ = try await db.query("UPDATE services.phone_numbers SET state = 'released', instance_id = NULL, number_id = NULL, released_at = now(), updated_at = now() WHERE id = $1", [row.id])
        }
    }

    /// The numbers ordered under `name` that no row records (the order's answer lost, or a crash
    /// before its record): each is recorded as the instance's, then given back like any other. A
    /// number a row knows (another agent's, the pool's, or one released already) is not touched;
    /// an order still pending is waited for.
    package func giveBackUnrecorded(_ id: String, name: String) async throws {
        guard providers.telnyx.isConfigured else { return }
        let telnyx = providers.telnyx
        let orders = try await provider { () async throws(ProviderError) in try await telnyx.orders(reference: name) }
        for order in orders where order.status != .failure {
            // Known: a row of this very order (released included), or one holding the number now.
            let known = try await db.query("""
                SELECT 1 FROM services.phone_numbers WHERE phone_number = $1 AND (order_id = $2 OR state <> 'released')
                """, [order.phoneNumber, order.id])
            guard known.isEmpty else { continue }
            if order.status == .pending {
                throw ServicesError.provider(ProviderError(.retryable, provider: "telnyx", message: "number order for \(name) still pending; release after it completes"))
            }
            _ = try await recordOrder(id, order)
            try await giveBackNumber(id, name: name)
        }
    }

    /// One row of `services.phone_numbers`.
    /// `services.phone_numbers.state`: being ordered, an agent's, waiting in the reuse pool, given up, or ordered for the pool.
    package enum NumberState: String, PostgresText { case ordering, assigned, available, released, stocking }

    package struct NumberRow {
        package var id: Int
        package var state: NumberState
        package var orderID: String?
        package var numberID: String?
        package var phoneNumber: String
        package var messagingProfileID: String?

        package init(_ row: PostgresRows.Row) throws {
            id = try row.decode("id")
            state = try row.decode("state")
            orderID = try row.decode("order_id")
            numberID = try row.decode("number_id")
            phoneNumber = try row.decode("phone_number")
            messagingProfileID = try row.decode("messaging_profile_id")
        }
    }

    private func recordOrder(_ id: String, _ order: TelnyxProvider.Order) async throws -> NumberRow {
        try NumberRow(try await db.query("""
            INSERT INTO services.phone_numbers (instance_id, state, order_id, phone_number) VALUES ($1, 'ordering', $2, $3)
            RETURNING id, state, order_id, number_id, phone_number, messaging_profile_id
            """, [id, order.id, order.phoneNumber]).first!)
    }

    /// Follows an order: pending until it completes; then the number is the agent's. It was ordered
    /// on the messaging profile, so it can send SMS; its own id is looked up at teardown (by the
    /// number itself, never by `customer_reference`), so the claim does not wait for that.
    private func follow(_ row: NumberRow, name: String) async throws -> ToolObservation {
        let telnyx = providers.telnyx
        let order = try await provider { () async throws(ProviderError) in try await telnyx.order(id: row.orderID ?? "") }
        guard let order, order.status != .failure else {
            _ = try await db.query("DELETE FROM services.phone_numbers WHERE id = $1", [row.id])
            throw ServicesError.provider(ProviderError(.retryable, provider: "telnyx", message: "number order for \(name) failed; ordering another"))
        }
        guard order.status == .success else { return ToolObservation(state: .pending, externalID: order.id) }
        var done = row
        done.messagingProfileID = try await messagingProfile()
        _ = try await db.query("""
            UPDATE services.phone_numbers SET state = 'assigned', messaging_profile_id = $2, updated_at = now() WHERE id = $1
            """, [row.id, done.messagingProfileID])
        return ready(done)
    }

    private func ready(_ row: NumberRow) -> ToolObservation {
        var variables = ["TELNYX_PHONE_NUMBER": row.phoneNumber]
        if let profile = row.messagingProfileID { variables["TELNYX_MESSAGING_PROFILE_ID"] = profile }
        return ToolObservation(state: .ready, externalID: row.phoneNumber, variables: variables)
    }

    /// `TELNYX_MESSAGING_PROFILE_ID`, or the profile `convos-agents`, found or made once (one
    /// replica at a time) and kept.
    package func messagingProfile() async throws -> String {
        if let configured = providers.telnyx.messagingProfileID { return configured }
        if let kept: String = try await db.query("SELECT value FROM services.settings WHERE name = 'telnyx_messaging_profile_id'").first?.decode("value") {
            return kept
        }
        let telnyx = providers.telnyx
        return try await db.transaction { c in
            _ = try await c.query("SELECT pg_advisory_xact_lock(hashtext('convos_telnyx_messaging_profile'))")
            if let kept: String = try await c.query("SELECT value FROM services.settings WHERE name = 'telnyx_messaging_profile_id'").first?.decode("value") {
                return kept
            }
            let id: String
            do { id = try await telnyx.messagingProfile(named: "convos-agents") } catch let error as ProviderError { throw ServicesError.provider(error) }
            _ = try await c.query("INSERT INTO services.settings (name, value) VALUES ('telnyx_messaging_profile_id', $1)", [id])
            return id
        }
    }
}
