import Foundation
import Postgres
import Sync

/// The leader lease in `pool.leases`: holder, a fencing token that only grows, and an expiry.
///
/// One replica holds it and reconciles; the others keep serving the API. The holder renews well
/// inside the expiry; a holder that fails to renew stops at once. Every reconciler write runs in
/// `fenced`, which checks the token under a key-share lock first, so a deposed leader's late writes fail.
///
/// The row's locks are chosen so that only a change of holder waits for writes in flight: each
/// write holds `FOR KEY SHARE`; a renewal (an UPDATE of non-key columns, `FOR NO KEY UPDATE`) does
/// not conflict with it and never waits; an acquire locks the row `FOR UPDATE` first, which waits
/// for every write of the term before it. (With `FOR SHARE`, a renewal under a claim load waited
/// behind the stream of writes: 461 ms on average, and a lease is 6 s.)
/// The services schema's writes are fenced by the term's local deadline (`LeaseDeadline`) instead.
public actor LeaderLease {
    public static let name = "reconciler"
    package let db: PostgresPool
    public nonisolated let holder: String
    package let duration: Duration
    package let clock: any Clock
    public private(set) var token: Int?
    /// The current term's deadline by this replica's clock; a new one each term.
    private var deadline: LeaseDeadline?

    public init(db: PostgresPool, holder: String, duration: Duration = .seconds(6), clock: any Clock = SystemClock()) {
        self.db = db
        self.holder = holder
        self.duration = duration
        self.clock = clock
    }

    package var seconds: Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

    /// Takes the lease if it is free or expired; a new holder gets the next fencing token.
    public func tryAcquire() async -> Bool {
        deadline?.revoke()
        deadline = nil
        let sent = clock.monotonic
        let holder = self.holder, seconds = self.seconds
        do {
            token = try await db.transaction { c -> Int? in
                // Waits for the writes of the term being replaced (their FOR KEY SHARE), so none lands after.
                _ = try await c.query("SELECT 1 FROM pool.leases WHERE name = $1 AND expires_at < now() FOR UPDATE", [Self.name])
                let rows = try await c.query("""
                    INSERT INTO pool.leases (name, holder, fencing_token, expires_at) VALUES ($1, $2, 1, now() + make_interval(secs => $3))
                    ON CONFLICT (name) DO UPDATE SET holder = $2, fencing_token = pool.leases.fencing_token + 1,
                        acquired_at = now(), renewed_at = now(), expires_at = now() + make_interval(secs => $3)
                    WHERE pool.leases.expires_at < now()
                    RETURNING fencing_token
                    """, [Self.name, holder, seconds])
                return try rows.first?.decode("fencing_token", as: Int.self)
            }
        } catch {
            token = nil
        }
        if token != nil {
            deadline = LeaseDeadline(clock: clock)
            deadline?.extend(sent: sent, duration: duration)
        }
        return token != nil
    }

    /// How long the current holder's lease has left (zero when expired), or nil when unknown. A
    /// follower waits no longer than this, so a dead leader is replaced when its lease runs out.
    public func timeLeft() async -> Duration? {
        guard let row = try? await db.query(
            "SELECT greatest(extract(epoch FROM expires_at - now()), 0)::float8 AS left FROM pool.leases WHERE name = $1",
            [Self.name]).first, let left = try? row.decode("left", as: Double.self) else { return nil }
        return .milliseconds(Int(left * 1000))
    }

    /// Extends the lease; false (and no token) when it was lost.
    public func renew() async -> Bool {
        guard let current = token else { return false }
        let sent = clock.monotonic
        let rows = try? await db.query("""
            UPDATE pool.leases SET renewed_at = now(), expires_at = now() + make_interval(secs => $4)
            WHERE name = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > now()
            RETURNING fencing_token
            """, [Self.name, holder, current, seconds])
        if rows?.isEmpty ?? true {
            token = nil
            deadline?.revoke()
        } else {
            deadline?.extend(sent: sent, duration: duration)
        }
        return token != nil
    }

    /// Gives the lease up at once, so the next replica takes over without waiting for the expiry.
    public func release() async {
        deadline?.revoke()
        guard let current = token else { return }
        _ = try? await db.query("UPDATE pool.leases SET expires_at = now() - interval '1 second' WHERE name = $1 AND holder = $2 AND fencing_token = $3",
                                [Self.name, holder, current])
        token = nil
    }

    public func fence() -> Fence? {
        guard let token, let deadline else { return nil }
        return Fence(db: db, holder: holder, token: token, deadline: deadline, idleLimit: duration)
    }
}

/// A leader's right to write, checked inside each write's transaction.
public struct Fence: Sendable {
    package let db: PostgresPool
    package let holder: String
    public let token: Int
    /// Until when this term may act, by the local clock: checked before each services write.
    public let deadline: LeaseDeadline
    /// How long Postgres lets one of these transactions sit idle before it ends it: the lease's
    /// duration. A leader frozen mid-transaction (a GC pause, a stopped VM) holds the lease row's
    /// share lock, which the next leader's acquire waits for; without this limit that wait lasted
    /// until `idle_in_transaction_session_timeout` (30 s), with this one a lease at most.
    public let idleLimit: Duration

    public init(db: PostgresPool, holder: String, token: Int, deadline: LeaseDeadline, idleLimit: Duration = .seconds(6)) {
        self.db = db
        self.holder = holder
        self.token = token
        self.deadline = deadline
        self.idleLimit = idleLimit
    }

    public typealias Lost = LeaseLost

    /// The term as the services' writes check it (`Fencing`), without the lease row.
    public var term: LeaseTerm { LeaseTerm(token: token, deadline: deadline) }

    /// A transaction that first proves, under a key-share lock on the lease row, that this fence is
    /// current. A new leader's acquire (`FOR UPDATE`) waits for the lock, so no write of ours lands
    /// after it; the holder's own renewals do not.
    public func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await db.transaction { c in
            // One round trip: the check, and the idle limit for the rest of this transaction.
            let rows = try await c.query("""
                SELECT set_config('idle_in_transaction_session_timeout', $4, true) FROM pool.leases
                WHERE name = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > now() FOR KEY SHARE
                """, [LeaderLease.name, holder, token, String(max(300, Int(idleLimit.timeInterval * 1000)))])
            guard !rows.isEmpty else { throw Lost(token: token) }
            return try await body(c)
        }
    }
}
