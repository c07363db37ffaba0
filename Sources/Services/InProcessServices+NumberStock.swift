import Foundation
import Postgres
import Providers
import Resources
import Store

/// Numbers ordered ahead of claims (`TELNYX_SPARE_NUMBERS`): the reuse pool is kept at that many
/// `available` numbers, so a claimed agent's SMS is one taken from it (a label, under a second)
/// rather than a search, an order and its completion (seconds more, on the claim's path).
///
/// A planned `stockNumbers` calls this, on the leader under its fence, one round at a time: orders
/// placed earlier are followed, and what the stock still lacks is ordered, at most
/// `ordersPerRound` at once. The row comes before its order, so a crash between the two leaves a
/// row whose order is found again by the stock's reference, never a number bought and forgotten.
extension InProcessServices {
    /// The `customer_reference` of numbers in the reuse pool (given back ones are labelled the same).
    package static let stockReference = "convos-pool"
    /// Orders one round places at most: Telnyx's own rate, and a bounded bill if something loops.
    package static let ordersPerRound = 10
    /// A row whose order cannot be found this long after it was written was never placed.
    package static let unplacedAfter: Double = 120

    /// What the reuse pool holds against `TELNYX_SPARE_NUMBERS`, for the status batch: nil when
    /// there is nothing to do or to follow.
    package func numberStock() async throws -> NumberStock? {
        guard providers.telnyx.isConfigured else { return nil }
        let row = try await db.query("""
            SELECT count(*) FILTER (WHERE state = 'available')::int AS available, count(*) FILTER (WHERE state = 'stocking')::int AS ordering
            FROM services.phone_numbers WHERE state IN ('available', 'stocking')
            """).first
        let stock = NumberStock(wanted: settings.spareNumbers, available: try row?.decode("available") ?? 0, ordering: try row?.decode("ordering") ?? 0)
        return stock.needsWork ? stock : nil
    }

    /// One round (`POST /stock-numbers`): follows the stock's orders, then orders what it lacks.
    /// True while orders are still pending (the caller looks again shortly).
    public func stockNumbers() async throws -> Bool {
        guard providers.telnyx.isConfigured else { return false }
        let rows = try await db.query("""
            SELECT id, state, order_id, number_id, phone_number, messaging_profile_id,
                   created_at < now() - make_interval(secs => $1) AS stale
            FROM services.phone_numbers WHERE state = 'stocking' ORDER BY id
            """, [Self.unplacedAfter]).rows
        var pending = 0
        for row in rows where try await !followStock(try NumberRow(row), stale: try row.decode("stale")) { pending += 1 }
        let held: Int = try await db.query("SELECT count(*)::int AS n FROM services.phone_numbers WHERE state IN ('available', 'stocking')")
            .first?.decode("n") ?? 0
        let missing = min(settings.spareNumbers - held, Self.ordersPerRound)
        if missing > 0 {
            let profile = try await messagingProfile()
            for _ in 0..<missing {
                try await orderForStock(profile: profile)
                pending += 1
            }
        }
        return pending > 0
    }

    /// Searches a US number and orders it for the stock; a number others took meanwhile is searched again.
    private func orderForStock(profile: String) async throws {
        let telnyx = providers.telnyx
        for attempt in 0..<8 {
            let digit = attempt < 6 ? String(Int.random(in: 0...9)) : nil
            let candidate: String?
            do {
                candidate = try await numbers.take(country: "US") { try await telnyx.search(country: "US", endsWith: digit) }
            } catch let error as ProviderError {
                throw ServicesError.provider(error)
            }
            guard let number = candidate else { continue }
            let id: Int = try await db.query("""
                INSERT INTO services.phone_numbers (state, phone_number) VALUES ('stocking', $1) RETURNING id
                """, [number]).first!.decode("id")
            // Not placed by a leader frozen past its term: its successor keeps the stock now.
            try ServicesDB.checkFence()
            do {
                let placed = try await telnyx.order(number, reference: Self.stockReference, messagingProfileID: profile)
                _ = try await db.query("UPDATE services.phone_numbers SET order_id = $2, updated_at = now() WHERE id = $1", [id, placed.id])
                return
            } catch let error as ProviderError {
                _ = try await db.query("DELETE FROM services.phone_numbers WHERE id = $1", [id])
                guard error.kind == .conflict else { throw ServicesError.provider(error) }
                await numbers.stale(country: "US")
            }
        }
        throw ServicesError.provider(ProviderError(.retryable, provider: "telnyx", message: "every number searched was taken by others; searching again later"))
    }

    /// One order of the stock: its number `available` once it exists at Telnyx (true), still
    /// pending (false), or the row dropped (a failed order, or one never placed).
    private func followStock(_ row: NumberRow, stale: Bool) async throws -> Bool {
        let telnyx = providers.telnyx
        var orderID = row.orderID
        if orderID == nil {
            // Written, then the process stopped before the order's answer was recorded: found by
            // the stock's reference and the number, or, long after, taken as never placed.
            let orders = try await provider { () async throws(ProviderError) in try await telnyx.orders(reference: Self.stockReference) }
            guard let found = orders.first(where: { $0.phoneNumber == row.phoneNumber && $0.status != .failure }) else {
                if stale { _ = try await db.query("DELETE FROM services.phone_numbers WHERE id = $1", [row.id]) }
                return stale
            }
            // Another row holds that order already: this one is its duplicate.
            guard try await db.query("SELECT 1 FROM services.phone_numbers WHERE order_id = $1", [found.id]).isEmpty else {
                _ = try await db.query("DELETE FROM services.phone_numbers WHERE id = $1", [row.id])
                return true
            }
            orderID = found.id
            _ = try await db.query("UPDATE services.phone_numbers SET order_id = $2, updated_at = now() WHERE id = $1", [row.id, found.id])
        }
        let order = try await provider { () async throws(ProviderError) in try await telnyx.order(id: orderID ?? "") }
        guard let order, order.status != .failure else {
            _ = try await db.query("DELETE FROM services.phone_numbers WHERE id = $1", [row.id])
            return true
        }
        guard order.status == .success else { return false }
        // Its own id, which the reuse path needs to label it for its agent.
        guard let number = try await provider({ () async throws(ProviderError) in try await telnyx.number(row.phoneNumber) }) else { return false }
        let profile = try await messagingProfile()
        _ = try await db.query("""
            UPDATE services.phone_numbers SET state = 'available', number_id = $2, messaging_profile_id = $3, released_at = now(), updated_at = now()
            WHERE id = $1 AND state = 'stocking'
            """, [row.id, number.id, profile])
        return true
    }
}
