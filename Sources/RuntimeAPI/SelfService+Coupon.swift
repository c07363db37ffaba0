import Foundation
import HTTPServer
import Postgres
import Resources
import Services

/// `redeem-coupon`: a live Coupon raises the agent's own OpenRouter limit by its `incrementUsd`, up
/// to its `maxUsd`, once per agent and never past `maxRedemptions` (CONTRACT.md section 8).
///
/// The redemption is reserved first, under the coupon's row lock (so two agents at once never pass
/// `maxRedemptions` together, and one agent twice is one row), then the limit is raised outside any
/// transaction; a raise that does not happen (at the cap, OpenRouter failing) gives the
/// reservation back.
extension SelfService {
    enum Reservation { case reserved(CouponSpec, name: String), unknown, redeemed, exhausted }

    func redeemCoupon(_ caller: Caller) async throws -> HTTPResponse {
        let route = "redeem-coupon"
        guard let agent = caller.agent else { return calls.refuse(route, "unclaimed", 403, "instance is not claimed") }
        guard case .string(let code)? = caller.body["code"], !code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return calls.refuse(route, "invalid", 400, "code is required")
        }
        let now = clock.now
        let reservation = try await calls.db.transaction { c -> Reservation in
            guard let row = try await c.query("SELECT name, spec FROM pool.coupons WHERE spec->>'codeSha256' = $1 FOR UPDATE",
                                              [CouponSpec.hash(code)]).first,
                  let coupon = try? JSONDecoder().decode(CouponSpec.self, from: try row.decode("spec", as: JSONText.self).data),
                  !coupon.expired(at: now) else { return .unknown }
            let name: String = try row.decode("name")
            let counts = try await c.query("""
                SELECT count(*)::int AS n, count(*) FILTER (WHERE agent = $2)::int AS mine FROM pool.coupon_redemptions WHERE coupon = $1
                """, [name, agent]).first!
            if try counts.decode("mine", as: Int.self) > 0 { return .redeemed }
            if let max = coupon.maxRedemptions, try counts.decode("n", as: Int.self) >= max { return .exhausted }
            _ = try await c.query("INSERT INTO pool.coupon_redemptions (coupon, agent, instance_id) VALUES ($1, $2, $3)", [name, agent, caller.instance])
            return .reserved(coupon, name: name)
        }
        let coupon: CouponSpec, name: String
        switch reservation {
        case .unknown:
            await calls.record(caller, reason: "CouponRefused", message: "an unknown or expired coupon code", type: "Warning")
            return calls.refuse(route, "unknown", 404, "Invalid or expired coupon code")
        case .redeemed:
            return calls.refuse(route, "redeemed", 409, "This agent has already redeemed this coupon")
        case .exhausted:
            return calls.refuse(route, "exhausted", 409, "This coupon has been fully redeemed")
        case .reserved(let spec, let couponName): (coupon, name) = (spec, couponName)
        }
        let result: InProcessServices.LimitRaise
        do {
            result = try await calls.services.raiseLimit(caller.instance, source: "coupon", coupon: name, increment: coupon.incrementUsd,
                                                         max: coupon.maxUsd, perDay: nil)
        } catch {
            try await giveBack(name, agent)
            let message = (error as? ServicesError)?.message ?? "the limit could not be raised"
            return calls.refuse(route, "failed", 502, "coupon not redeemed: \(message)")
        }
        switch result {
        case .raised(let previous, let new):
            return await calls.answer(caller, route: route, reason: "CouponRedeemed",
                                      message: "coupon \(name) raised its OpenRouter limit from \(OpenRouterSettings.format(previous)) to \(OpenRouterSettings.format(new)) USD",
                                      ["ok": .bool(true), "previousLimit": .double(previous), "newLimit": .double(new)])
        case .atCap(let limit, let max):
            try await giveBack(name, agent)
            return calls.refuse(route, "at_cap", 409, "Credits are already at this coupon's maximum", extra: ["limit": .double(limit), "max": .double(max)])
        case .tooOften:
            try await giveBack(name, agent)
            return calls.refuse(route, "too_often", 429, "try again later")
        }
    }

    private func giveBack(_ coupon: String, _ agent: String) async throws {
        _ = try await calls.db.query("DELETE FROM pool.coupon_redemptions WHERE coupon = $1 AND agent = $2", [coupon, agent])
    }
}
