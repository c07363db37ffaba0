import Foundation
import HTTPServer

/// `GET /`: the dashboard, a single page over the public API (CONTRACT section 4), and
/// `GET /app/FILE`: its styles and ES modules. All compiled into the binary: no build step,
/// nothing loaded from elsewhere. A strict Content-Security-Policy allows this origin's own files
/// and requests only: no inline script or style, no frames, no other origin. Public: the page
/// shows nothing but the store and the pool's counts until its user signs in (`Sessions`).
extension ControllerAPI {
    package static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// The page's files by name under `/app/`.
    package static let appFiles: [String: (bytes: [UInt8], type: String)] = {
        let script = "text/javascript; charset=utf-8"
        return [
            "app.css": (PackageResources.app_css, "text/css; charset=utf-8"),
            "app.js": (PackageResources.app_js, script), "lib.js": (PackageResources.lib_js, script),
            "store.js": (PackageResources.store_js, script), "agents.js": (PackageResources.agents_js, script),
            "templates.js": (PackageResources.templates_js, script), "pools.js": (PackageResources.pools_js, script),
        ]
    }()

    package func addAppRoutes(_ router: inout Router) {
        router.add("GET", "/") { _ in Self.appFile(PackageResources.index_html, type: "text/html; charset=utf-8") }
        router.add("GET", "/app/:file") { request in
            guard let file = Self.appFiles[request.pathParameters["file"]!] else { throw HTTPError.notFound("no such file of the dashboard") }
            return Self.appFile(file.bytes, type: file.type)
        }
    }

    package static func appFile(_ bytes: [UInt8], type: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [
            ("Content-Type", type), ("Content-Security-Policy", contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-cache"),
        ], body: Data(bytes))
    }
}
