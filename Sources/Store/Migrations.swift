import Postgres

/// The controller's schema migrations: numbered SQL files under `Migrations/`, compiled into the
/// binary (`embedInCode`), so a deployed image carries its schema. Add a file and a line here.
package enum Migrations {
    package static let all: [Migration] = [
        Migration(version: 1, name: "initial", sql: text(PackageResources.v0001_initial_sql)),
        Migration(version: 2, name: "bankr_keys", sql: text(PackageResources.v0002_bankr_keys_sql)),
        Migration(version: 3, name: "reconciler", sql: text(PackageResources.v0003_reconciler_sql)),
        Migration(version: 4, name: "runtime_protocol", sql: text(PackageResources.v0004_runtime_protocol_sql)),
        Migration(version: 5, name: "provider_limits", sql: text(PackageResources.v0005_provider_limits_sql)),
        Migration(version: 6, name: "phone_numbers", sql: text(PackageResources.v0006_phone_numbers_sql)),
        Migration(version: 7, name: "pool_failures", sql: text(PackageResources.v0007_pool_failures_sql)),
        Migration(version: 8, name: "action_backoffs", sql: text(PackageResources.v0008_action_backoffs_sql)),
        Migration(version: 9, name: "kubernetes_api", sql: text(PackageResources.v0009_kubernetes_api_sql)),
        Migration(version: 10, name: "ui_sessions", sql: text(PackageResources.v0010_ui_sessions_sql)),
        Migration(version: 11, name: "released_numbers", sql: text(PackageResources.v0011_released_numbers_sql)),
        Migration(version: 12, name: "runtime_today", sql: text(PackageResources.v0012_runtime_today_sql)),
        Migration(version: 13, name: "coupons", sql: text(PackageResources.v0013_coupons_sql)),
        Migration(version: 14, name: "inbound", sql: text(PackageResources.v0014_inbound_sql)),
        Migration(version: 15, name: "number_stock", sql: text(PackageResources.v0015_number_stock_sql)),
        Migration(version: 16, name: "rollouts", sql: text(PackageResources.v0016_rollouts_sql)),
        Migration(version: 17, name: "dirty_log", sql: text(PackageResources.v0017_dirty_log_sql)),
        Migration(version: 18, name: "health_not_dirty", sql: text(PackageResources.v0018_health_not_dirty_sql)),
        Migration(version: 19, name: "status_not_dirty", sql: text(PackageResources.v0019_status_not_dirty_sql)),
        Migration(version: 20, name: "one_agent_index", sql: text(PackageResources.v0020_one_agent_index_sql)),
    ]

    package static let migrator = Migrator(all)

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
