import Foundation
import Testing
import API
import AppTestSupport
import TestSupport

/// The dashboard's sign-in over real HTTP (curl, so no cookie store but the test's own): a token
/// for an HttpOnly, SameSite=Strict cookie, writes with it only with the CSRF token, sign-out ends it.
@Suite struct SessionTests {
    struct Curl {
        let base: String
        /// Status, headers (lowercased names) and body.
        func call(_ method: String, _ path: String, cookie: String? = nil, headers: [String: String] = [:], body: String? = nil) async -> (Int, [String: String], String) {
            var command = "curl -s -i -X \(method) '\(base)\(path)'"
            if let cookie { command += " -H 'Cookie: \(Sessions.cookie)=\(cookie)'" }
            for (k, v) in headers { command += " -H '\(k): \(v)'" }
            if let body { command += " -H 'Content-Type: application/json' --data '\(body)'" }
            let text = await shellOutput(command).output
            let parts = text.components(separatedBy: "\r\n\r\n")
            let head = parts.first ?? ""
            var fields: [String: String] = [:]
            for line in head.split(separator: "\r\n").dropFirst() {
                if let colon = line.firstIndex(of: ":") {
                    fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            return (status, fields, parts.dropFirst().joined(separator: "\r\n\r\n"))
        }
    }

    @Test func aTokenBuysACookieThatReadsAndWithItsCSRFTokenWrites() async throws {
        let t = try await TestController.start(token: "ui-token")
        let curl = Curl(base: t.url)
        let (wrong, _, _) = await curl.call("POST", "/ui/session", body: #"{"token":"nope"}"#)
        #expect(wrong == 401)

        let (ok, headers, body) = await curl.call("POST", "/ui/session", body: #"{"token":"ui-token"}"#)
        #expect(ok == 200)
        let cookie = try #require(headers["set-cookie"])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"), "loopback: \(cookie)")
        let id = try #require(cookie.split(separator: ";").first?.split(separator: "=").last.map(String.init))
        let csrf = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["csrf"] as? String)

        #expect(await curl.call("GET", "/v1/agents").0 == 401, "no cookie, no token")
        #expect(await curl.call("GET", "/v1/agents", cookie: id).0 == 200, "the cookie reads")
        let spec = #"{"apiVersion":"agents.convos.org/v1","kind":"Pool","metadata":{"name":"p"},"spec":{"minIdle":0,"maxInstances":1,"image":"ghcr.io/a/b:c"}}"#
        #expect(await curl.call("POST", "/v1/apply", cookie: id, body: spec).0 == 403, "a write without the CSRF token")
        #expect(try await t.count("SELECT count(*)::int AS n FROM pool.pools") == 0, "and it changed nothing")
        #expect(await curl.call("POST", "/v1/apply", cookie: id, headers: ["X-CSRF-Token": csrf], body: spec).0 == 200)
        let (_, _, state) = await curl.call("GET", "/ui/session", cookie: id)
        #expect(state.contains("\"signedIn\":true") && state.contains(csrf))

        // Off loopback the cookie is Secure.
        let (_, remote, _) = await curl.call("POST", "/ui/session", headers: ["Host": "controller.example.com"], body: #"{"token":"ui-token"}"#)
        #expect(remote["set-cookie"]?.contains("Secure") == true)

        #expect(await curl.call("DELETE", "/ui/session", cookie: id).0 == 403, "sign-out needs the CSRF token too")
        let (out, outHeaders, _) = await curl.call("DELETE", "/ui/session", cookie: id, headers: ["X-CSRF-Token": csrf])
        #expect(out == 200 && outHeaders["set-cookie"]?.contains("Max-Age=0") == true)
        #expect(await curl.call("GET", "/v1/agents", cookie: id).0 == 401, "signed out")
        await t.stop()
    }

    /// Without a token (loopback only) the API is open, and the page is told it needs no sign-in.
    @Test func withoutATokenThePageNeedsNoSignIn() async throws {
        let t = try await TestController.start()
        let (status, _, body) = await Curl(base: t.url).call("GET", "/ui/session")
        #expect(status == 200 && body.contains("\"signedIn\":true") && body.contains("\"tokenRequired\":false"), "\(body)")
        await t.stop()
    }
}

/// The dashboard at `/`: a page and its files served from the binary, public, under a strict CSP,
/// holding no data of its own (everything comes from the API, signed in or not).
@Suite struct AppFilesTests {
    @Test func thePageAndItsFilesAreServedUnderAStrictPolicy() async throws {
        let t = try await TestController.start(token: "ui-token", simulate: true)
        _ = try await t.apply(Specs.join(Specs.poolSized(1), Specs.conciergeTemplate, Specs.agent("alice-agent", owner: "alice")),
                              headers: ["Authorization": "Bearer ui-token"])
        let page = try await t.client.get("/")
        #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true, "public, like the contract says")
        let csp = try #require(page.headers["content-security-policy"])
        #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe"))
        #expect(page.text.contains(#"<script type="module" src="/app/app.js">"#) && !page.text.contains("<script>"), "no inline script")
        #expect(!page.text.contains("alice") && !page.text.contains("concierge"), "the page itself holds no owner, agent or template")
        for name in ControllerAPI.appFiles.keys.sorted() {
            let file = try await t.client.get("/app/" + name)
            #expect(file.status == 200 && file.headers["content-security-policy"] == csp, "\(name)")
            #expect(file.headers["content-type"]?.hasPrefix(name.hasSuffix(".js") ? "text/javascript" : "text/css") == true, "\(name)")
            #expect(!file.text.contains("innerHTML") && !file.text.contains("insertAdjacentHTML"), "\(name): values reach the page as text only")
        }
        #expect(try await t.client.get("/app/nothing.js").status == 404)
        #expect(try await t.client.get("/app/").status == 404)
        await t.stop()
    }
}
