// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for hostile input, built apart from the main package because every module is
// compiled with `-sanitize=fuzzer,address`: `bash scripts/fuzz`. Each target's `main` hands its
// one-input check to libFuzzer's driver.
let package = Package(
    name: "convos-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "convos-controller", path: "..")],
    targets: [
        .target(name: "CLibFuzzer"),
        // The YAML-to-spec decoder: bytes as a request body, through parser, emitter and validation.
        .executableTarget(name: "fuzz-manifest", dependencies: [
            "CLibFuzzer",
            .product(name: "Resources", package: "convos-controller"),
            .product(name: "YAML", package: "convos-controller"),
        ]),
        // The apply path: bytes as the body of `POST /v1/apply`, through the router into Postgres.
        .executableTarget(name: "fuzz-apply", dependencies: [
            "CLibFuzzer",
            .product(name: "App", package: "convos-controller"),
            .product(name: "Reconcile", package: "convos-controller"),
            .product(name: "Telemetry", package: "convos-controller"),
            .product(name: "HTTPServer", package: "convos-controller"),
            .product(name: "Sync", package: "convos-controller"),
            .product(name: "Postgres", package: "convos-controller"),
        ]),
    ]
)
