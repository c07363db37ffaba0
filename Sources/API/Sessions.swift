import Foundation
import HTTPServer
import Postgres
import Store
import Sync

/// The dashboard's sign-in: the controller's token, typed once, is exchanged for a session cookie
/// (`HttpOnly`, `SameSite=Strict`, `Secure` unless the page was asked for on loopback), so the page's
/// scripts never hold the token. Writes made with the cookie must carry the session's CSRF token in
/// `X-CSRF-Token`. Sessions live in Postgres, so any replica honours them. Used by `APIAuth`.
package struct Sessions: Sendable {
    package static let cookie = "convos_session"
    package static let lifetime: TimeInterval = 12 * 3600
    package let db: PostgresPool
    /// When a new session expires.
    package var clock: any Clock = SystemClock()

    package struct Session: Sendable { let id: String; let csrf: String; let expires: Date }

    /// A new session; the caller has checked the token.
    package func create() async throws -> Session {
        let session = Session(id: Self.random(32), csrf: Self.random(16), expires: clock.now.addingTimeInterval(Self.lifetime))
        try await SessionStore(db: db).insert(id: session.id, csrf: session.csrf, expires: session.expires)
        return session
    }

    /// The live session the request's cookie names, if any.
    package func find(_ request: HTTPRequest) async throws -> Session? {
        guard let id = Self.cookieValue(request), id.count == 64 else { return nil }
        guard let found = try await SessionStore(db: db).find(id: id) else { return nil }
        return Session(id: id, csrf: found.csrf, expires: found.expires)
    }

    package func delete(_ id: String) async throws {
        try await SessionStore(db: db).delete(id: id)
    }

    package static func cookieValue(_ request: HTTPRequest) -> String? {
        guard let header = request.header("cookie") else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(cookie + "=") { return String(pair.dropFirst(cookie.count + 1)) }
        }
        return nil
    }

    /// `Set-Cookie` for `id` (empty and expired to sign out). `Secure` unless the request's host is
    /// loopback, where the page is plain HTTP.
    package static func setCookie(_ id: String, _ request: HTTPRequest, maxAge: Int) -> (String, String) {
        let host = (request.header("host") ?? "").lowercased()
        let loopback = ["127.0.0.1", "localhost", "[::1]"].contains { host == $0 || host.hasPrefix($0 + ":") }
        return ("Set-Cookie", "\(cookie)=\(id); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (loopback ? "" : "; Secure"))
    }

    /// Whether a write made with this session carries its CSRF token.
    package static func csrfMatches(_ request: HTTPRequest, _ session: Session) -> Bool {
        guard let given = request.header("x-csrf-token") else { return false }
        return APIAuth.equal(given, session.csrf)
    }

    package static func random(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    package init(db: PostgresPool, clock: any Clock = SystemClock()) {
        self.db = db
        self.clock = clock
    }
}

/// What `/ui/session` answers: whether signed in, the CSRF token for writes, and whether a token
/// is needed at all (not when none is set: the controller then listens on loopback only, open).
package struct SessionState: Encodable {
    package let signedIn: Bool
    package let csrf: String?
    package var tokenRequired = true
}

extension ControllerAPI {
    /// `POST /ui/session {"token"}` signs in (401 for a wrong token), `GET /ui/session` says whether
    /// the cookie is a live session (and its CSRF token), `DELETE /ui/session` signs out.
    package func addSessionRoutes(_ router: inout Router) {
        let sessions = Sessions(db: store.db, clock: clock), token = auth.controllerToken
        router.add("POST", "/ui/session") { request in
            let given = (try? JSONSerialization.jsonObject(with: request.body) as? [String: Any])?["token"] as? String
            if let token {
                guard let given, APIAuth.equal(given, token) else {
                    throw HTTPError(status: 401, code: "Unauthorized", message: "the token is not this controller's", details: [.init(path: "token", message: "wrong token")])
                }
            }
            let session = try await sessions.create()
            var response = HTTPResponse.json(SessionState(signedIn: true, csrf: session.csrf))
            response.headers.append(Sessions.setCookie(session.id, request, maxAge: Int(Sessions.lifetime)))
            return response
        }
        router.add("GET", "/ui/session") { request in
            guard token != nil else { return .json(SessionState(signedIn: true, csrf: nil, tokenRequired: false)) }
            guard let session = try await sessions.find(request) else { return .json(SessionState(signedIn: false, csrf: nil)) }
            return .json(SessionState(signedIn: true, csrf: session.csrf))
        }
        router.add("DELETE", "/ui/session") { request in
            if let session = try await sessions.find(request) {
                guard Sessions.csrfMatches(request, session) else { throw HTTPError.forbidden("X-CSRF-Token is missing or wrong") }
                try await sessions.delete(session.id)
            }
            var response = HTTPResponse.json(SessionState(signedIn: false, csrf: nil))
            response.headers.append(Sessions.setCookie("", request, maxAge: 0))
            return response
        }
    }
}
