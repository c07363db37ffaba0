import Postgres

/// One place that sizes database pools, so `serve` and `migrate` agree.
package enum PostgresPoolFactory {
    package static func make(_ url: String, size: Int = 8) -> PostgresPool { PostgresPool(url: url, size: size) }
}
