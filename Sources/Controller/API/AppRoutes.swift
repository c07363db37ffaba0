import Foundation
import HTTPServer

/// `GET /app/`: the dashboard as a single page (issue 14, in progress): HTML, CSS and one ES module
/// compiled into the binary, no build step, nothing loaded from elsewhere. A strict
/// Content-Security-Policy allows this origin's own files and requests only: no inline script or
/// style, no frames, no other origin.
extension API {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    func addAppRoutes(_ router: inout Router) {
        let files: [String: (bytes: [UInt8], type: String)] = [
            "/app/": (PackageResources.index_html, "text/html; charset=utf-8"),
            "/app/app.js": (PackageResources.app_js, "text/javascript; charset=utf-8"),
            "/app/app.css": (PackageResources.app_css, "text/css; charset=utf-8"),
        ]
        for (path, file) in files {
            router.add("GET", path) { _ in
                HTTPResponse(status: 200, headers: [
                    ("Content-Type", file.type), ("Content-Security-Policy", Self.contentSecurityPolicy),
                    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-cache"),
                ], body: Data(file.bytes))
            }
        }
    }
}
