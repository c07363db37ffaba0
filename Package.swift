// swift-tools-version:6.0
import PackageDescription

// No Swift package dependencies: the toolchain and Debian's C libraries only.
let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
// What the end-to-end tests reach: every module, a controller started as `serve` starts it.
let endToEnd: [Target.Dependency] = ["App", "API", "RuntimeAPI", "CLI", "Reconcile", "Services", "Store", "Telemetry", "Resources",
                                     "Providers", "Simulator", "Postgres", "HTTPServer", "YAML", "TestSupport", "Sync"]

let package = Package(
    name: "convos-controller",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "convos-controller", targets: ["convos-controller"]),
        // Libraries for Fuzz/, the fuzzing package beside this one (its own build, with sanitizers).
        .library(name: "App", targets: ["App"]),
        .library(name: "Reconcile", targets: ["Reconcile"]),
        .library(name: "Telemetry", targets: ["Telemetry"]),
        .library(name: "Resources", targets: ["Resources"]),
        .library(name: "YAML", targets: ["YAML"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "Sync", targets: ["Sync"]),
        .library(name: "Postgres", targets: ["Postgres"]),
    ],
    targets: [
        // System libraries, reached through pkg-config. C types never leave their wrapper module.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // Ed25519 and SHA-256 for agents' attestations: Nettle, which GnuTLS (under libmicrohttpd) uses too.
        .systemLibrary(name: "CNettle", pkgConfig: "hogweed", providers: [.apt(["nettle-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        // glibc's own <malloc.h> (arenas, trimming): no library beyond libc.
        .systemLibrary(name: "CMalloc"),

        // One lock type shared by the modules that meet foreign threads.
        .target(name: "Sync", swiftSettings: strict),

        // Wrappers: the only modules that touch C or unsafe pointers.
        .target(name: "Postgres", dependencies: ["CLibPQ"], swiftSettings: strict),
        .target(name: "YAML", dependencies: ["CYAML"], swiftSettings: strict),
        // libmicrohttpd's start and info calls are variadic; this tiny C target wraps them.
        .target(name: "CMicroHTTPDShim", dependencies: ["CMicroHTTPD"], linkerSettings: [.linkedLibrary("gnutls")]),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPDShim", "Sync"], swiftSettings: strict),

        // The declarative model: pure, no I/O.
        .target(name: "Resources", dependencies: ["YAML", "Digest"], swiftSettings: strict),

        // Clients of the six external systems, and the HTTP client they share. No Postgres here.
        .target(
            name: "Providers",
            dependencies: ["Resources", "Sync"],
            // Railway GraphQL documents: static text in one folder, validated against the published schema by scripts/test.
            resources: [.embedInCode("Railway/Documents/ProjectCreate.graphql"), .embedInCode("Railway/Documents/ServiceCreate.graphql"), .embedInCode("Railway/Documents/VolumeCreate.graphql"), .embedInCode("Railway/Documents/ServiceDomainCreate.graphql"), .embedInCode("Railway/Documents/EnvironmentPatchCommit.graphql"), .embedInCode("Railway/Documents/VariableCollectionUpsert.graphql"), .embedInCode("Railway/Documents/Project.graphql"), .embedInCode("Railway/Documents/Projects.graphql"), .embedInCode("Railway/Documents/ProjectDelete.graphql"), .embedInCode("Railway/Documents/ServiceDelete.graphql"), .embedInCode("Railway/Documents/NotificationRules.graphql"), .embedInCode("Railway/Documents/NotificationRuleCreate.graphql"), .embedInCode("Railway/Documents/Variables.graphql")],
            swiftSettings: strict
        ),
        // The simulated cloud: real-wire fakes of every provider. It never imports Providers.
        .target(name: "Simulator", dependencies: ["HTTPServer", "Sync", "Digest"], swiftSettings: strict),

        // Logs and metrics, shared by every layer that reports.
        .target(name: "Telemetry", dependencies: ["Resources", "Sync"], swiftSettings: strict),
        // Every statement on the pool schema: resources and their writes, claims, the lease, the change
        // log, events. Migrations are numbered SQL files compiled in, listed in Migrations.swift.
        .target(name: "Store", dependencies: ["Resources", "Postgres", "Sync"],
                resources: [.embedInCode("Migrations/v0001_initial.sql"), .embedInCode("Migrations/v0002_bankr_keys.sql"), .embedInCode("Migrations/v0003_reconciler.sql"), .embedInCode("Migrations/v0004_runtime_protocol.sql"), .embedInCode("Migrations/v0005_provider_limits.sql"), .embedInCode("Migrations/v0006_phone_numbers.sql"), .embedInCode("Migrations/v0007_pool_failures.sql"), .embedInCode("Migrations/v0008_action_backoffs.sql"), .embedInCode("Migrations/v0009_kubernetes_api.sql"), .embedInCode("Migrations/v0010_ui_sessions.sql"), .embedInCode("Migrations/v0011_released_numbers.sql"), .embedInCode("Migrations/v0012_runtime_today.sql"), .embedInCode("Migrations/v0013_coupons.sql"), .embedInCode("Migrations/v0014_inbound.sql"), .embedInCode("Migrations/v0015_number_stock.sql"), .embedInCode("Migrations/v0016_rollouts.sql"), .embedInCode("Migrations/v0017_dirty_log.sql"), .embedInCode("Migrations/v0018_health_not_dirty.sql"), .embedInCode("Migrations/v0019_status_not_dirty.sql"), .embedInCode("Migrations/v0020_one_agent_index.sql")], swiftSettings: strict),
        // The services schema: Railway instances, tool resources, teardown, batch status.
        .target(name: "Services", dependencies: ["Store", "Providers", "Resources", "Postgres", "Sync"], swiftSettings: strict),
        // The reconcile loop: state reader, planner's actions on a work queue, executor, status writes.
        .target(name: "Reconcile", dependencies: ["Services", "Store", "Providers", "Resources", "Postgres", "Sync", "Telemetry"], swiftSettings: strict),
        // What runtimes and providers call: today Railway's deployment webhook.
        .target(name: "Digest", dependencies: ["CNettle"], swiftSettings: strict),
        .target(name: "RuntimeAPI", dependencies: ["CNettle", "Digest", "Reconcile", "Services", "Store", "Providers", "Telemetry", "HTTPServer", "Postgres", "Resources", "Sync"],
                swiftSettings: strict),
        // The HTTP surfaces over Store and Reconcile: /v1, /api/pool, the Kubernetes group, the
        // services routes, the dashboard's files (compiled in).
        .target(name: "API", dependencies: ["Reconcile", "Services", "Store", "Providers", "Resources", "Postgres", "HTTPServer", "YAML", "Sync", "Telemetry"],
                resources: [.embedInCode("UI/index.html"), .embedInCode("UI/app.js"), .embedInCode("UI/lib.js"), .embedInCode("UI/store.js"), .embedInCode("UI/agents.js"), .embedInCode("UI/templates.js"), .embedInCode("UI/pools.js"), .embedInCode("UI/app.css")], swiftSettings: strict),
        // Client commands: apply, diff, get, describe, delete, claim, status, kubeconfig.
        .target(name: "CLI", dependencies: ["Resources", "YAML", "Sync"], swiftSettings: strict),
        // The composition root (serve, simulate, migrate): the only importer of Simulator.
        .target(name: "App", dependencies: ["API", "RuntimeAPI", "CLI", "Reconcile", "Services", "Store", "Providers", "Simulator",
                                            "Postgres", "HTTPServer", "Resources", "YAML", "Sync", "Telemetry", "CMalloc"], swiftSettings: strict),
        .executableTarget(name: "convos-controller", dependencies: ["App"], swiftSettings: strict),

        // Test helpers: a fresh database per test on the cluster scripts/test starts.
        .target(name: "TestSupport", dependencies: ["Postgres", "Sync"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ProvidersTests", dependencies: ["Providers", "Simulator", "TestSupport", "Sync"], swiftSettings: strict),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"], swiftSettings: strict),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "TestSupport", "Sync"], swiftSettings: strict),
        .testTarget(name: "ResourcesTests", dependencies: ["Resources", "YAML"], swiftSettings: strict),
        // A controller started through the composition root for end-to-end tests, and helpers they share.
        .target(name: "AppTestSupport", dependencies: endToEnd, path: "Tests/AppTestSupport", swiftSettings: strict),
        .testTarget(name: "StoreTests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "ServicesTests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "ReconcileTests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "RuntimeAPITests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "APITests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "AppTests", dependencies: ["AppTestSupport"] + endToEnd, swiftSettings: strict),
        .testTarget(name: "SyncTests", dependencies: ["Sync"], swiftSettings: strict),
    ]
)
