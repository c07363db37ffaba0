import Foundation
import HTTPServer
import Postgres
import Resources
import Sync
import Store

/// The watches of one replica (`?watch=true`), all fed by one reader of the change log: each wake
/// (a change through this replica's API, a NOTIFY that one was made on another, or a poll every
/// `pollInterval` while anyone watches) reads the changes after the
/// lowest watcher's position, a page at a time, and writes each to the watchers it matches, one
/// JSON object a line. So a replica holds one database query per wake whatever its watchers,
/// and each watcher holds at most its stream's buffer: one that stops reading is cut off.
///
/// Made by the composition root; its loop is a child of the controller's `TaskSupervisor`.
package actor KubeWatches {
    package struct Settings: Sendable {
        /// Watchers at once on this replica; more are refused with 429.
        package var maxWatchers = 2000
        /// Bytes a watcher may leave unread before it is cut off.
        package var bufferLimit = 256 * 1024
        /// The log is read this often while anyone watches (and at once on a change through the API).
        package var pollInterval: Duration = .milliseconds(250)
        /// A watch without `timeoutSeconds` ends after this (clients reconnect from their version).
        package var defaultTimeout: Duration = .seconds(1800)
        package var maxTimeout: Duration = .seconds(3600)
        package var page = 500
    }

    private struct Watcher {
        package let kind: ResourceKind
        package let resource: String
        package let selector: KubeSelector
        package let stream: HTTPStream
        package let table: Bool
        package let includeObject: String?
        package var position: Int
        /// On the clock's monotonic time.
        package let deadline: Duration
    }

    private let db: PostgresPool
    private let kube: KubeStore
    private let settings: Settings
    private var watchers: [Int: Watcher] = [:]
    private var nextID = 0
    private var loop: TaskSupervisor.Child?
    private let wakeup: Wakeup
    /// Watchers cut off for not reading, for tests and metrics.
    package private(set) var cutOff = 0
    private var stopped = false
    private var waitingForGap = false

    private let clock: any Clock

    package init(db: PostgresPool, settings: Settings = Settings(), clock: any Clock = SystemClock()) {
        self.db = db
        self.kube = KubeStore(db: db)
        self.settings = settings
        self.clock = clock
        self.wakeup = Wakeup(clock: clock)
    }

    package var count: Int { watchers.count }

    package func start(in supervisor: TaskSupervisor) {
        loop = supervisor.spawn("kube-watches") { [weak self] in await self?.run() }
    }

    /// Something changed: read the log now.
    package nonisolated func poke() { Task { await wakeup.fire() } }

    /// Ends every watch (each sends what it holds) and the loop.
    package func shutdown() async {
        stopped = true
        for watcher in watchers.values { watcher.stream.finish() }
        watchers = [:]
        await wakeup.fire()
        if let loop { loop.cancel(); await loop.value() }
    }

    /// Opens a watch: the answer carries the stream, which this actor writes from now on.
    package func open(kind: ResourceKind, request: HTTPRequest, selector: KubeSelector) async throws -> HTTPResponse {
        guard !stopped else { throw KubeStatus(code: 503, reason: .serviceUnavailable, message: "shutting down") }
        guard watchers.count < settings.maxWatchers else {
            throw KubeStatus(code: 429, reason: .tooManyRequests, message: "too many watches on this replica (\(settings.maxWatchers)); retry later")
        }
        let stream = HTTPStream(limit: settings.bufferLimit)
        let table = KubeTable.wants(request.header("accept"))
        var timeout = settings.defaultTimeout
        if let seconds = request.query["timeoutSeconds"].flatMap(Int.init), seconds > 0 { timeout = min(.seconds(seconds), settings.maxTimeout) }
        var watcher = Watcher(kind: kind, resource: kind.plural, selector: selector, stream: stream, table: table,
                              includeObject: request.query["includeObject"], position: 0, deadline: clock.monotonic + timeout)
        let asked = request.query["resourceVersion"] ?? ""
        if asked.isEmpty || asked == "0" {
            // No version: the current objects first, as ADDED, then what changes after them.
            let listed = try await kube.list(kind)
            var encoded: [String: Data] = [:]
            for object in listed.objects where selector.matches(object) {
                encoded = [:]
                send(&watcher, "ADDED", object, cache: &encoded)
            }
            watcher.position = listed.resourceVersion
        } else {
            guard let version = Int(asked), version >= 0 else { throw KubeStatus.badRequest("resourceVersion \(asked) is not a version") }
            let compacted = try await kube.compactionMark()
            if version < compacted {
                // Older than the log keeps: the client must list again (kubectl and client-go do).
                sendGone(stream, "too old resource version: \(version) (\(compacted))")
                return response(stream, table: table)
            }
            watcher.position = version
        }
        let id = nextID
        nextID += 1
        watchers[id] = watcher
        stream.onClose { [weak self] in Task { await self?.remove(id) } }
        await wakeup.fire()
        return response(stream, table: table)
    }

    private func response(_ stream: HTTPStream, table: Bool) -> HTTPResponse {
        var response = HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        response.stream = stream
        return response
    }

    private func remove(_ id: Int) { watchers[id] = nil }

    private func run() async {
        while !stopped, !Task.isCancelled {
            do {
                try await deliver()
            } catch {
                // The database is away: the next wake tries again; watchers keep their position.
            }
            expire()
            // A gap in the log is usually a commit a few milliseconds from done: look again soon.
            await wakeup.wait(timeout: waitingForGap ? .milliseconds(50) : settings.pollInterval)
        }
    }

    /// Reads the log after the lowest position, a page at a time, and fans each change out.
    private func deliver() async throws {
        while let lowest = watchers.values.map(\.position).min() {
            let changes = try await kube.changes(after: lowest, limit: settings.page)
            guard !changes.isEmpty else { return }
            // Up to the first gap a commit in flight may still fill (KubeChangeOrder).
            let order = changes.map { KubeChangeOrder.Row(rv: $0.rv, age: $0.age) }
            let (readable, blocked) = KubeChangeOrder.readable(after: lowest, order, settle: KubeStore.settle)
            waitingForGap = blocked
            guard readable > 0 else { return }
            var last = lowest
            for change in changes.prefix(readable) {
                let rv = change.rv
                last = rv
                guard let kind = change.kind, let object = try change.object() else { continue }
                let type = change.type
                // Each form of the event is encoded once, whatever the number of watchers.
                var encoded: [String: Data] = [:]
                for (id, var watcher) in watchers where watcher.position < rv {
                    watcher.position = rv
                    if watcher.kind == kind, watcher.selector.matches(object) { send(&watcher, type, object, cache: &encoded) }
                    if watcher.stream.isOver {
                        if watcher.stream.wasCut { cutOff += 1 }
                        watchers[id] = nil
                    } else {
                        watchers[id] = watcher
                    }
                }
            }
            // Watchers with nothing to match in this page are at its end too.
            for id in watchers.keys where watchers[id]!.position < last { watchers[id]!.position = last }
            if blocked || changes.count < settings.page { return }
        }
    }

    private func expire() {
        let now = clock.monotonic
        for (id, watcher) in watchers where watcher.deadline <= now || watcher.stream.isOver {
            if watcher.stream.wasCut { cutOff += 1 }
            watcher.stream.finish()
            watchers[id] = nil
        }
    }

    private func send(_ watcher: inout Watcher, _ type: String, _ object: JSONValue, cache: inout [String: Data]) {
        let form = watcher.table ? "table/\(watcher.includeObject ?? "")" : "object"
        if cache[form] == nil {
            let payload = watcher.table
                ? KubeTable.table(resource: watcher.resource, objects: [object], listRV: nil, includeObject: watcher.includeObject)
                : object
            cache[form] = Self.line(.object(["type": .string(type), "object": payload]))
        }
        watcher.stream.write(cache[form]!)
    }

    private func sendGone(_ stream: HTTPStream, _ message: String) {
        stream.write(Self.line(.object(["type": "ERROR", "object": KubeStatus.gone(message).json])))
        stream.finish()
    }

    package static func line(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
