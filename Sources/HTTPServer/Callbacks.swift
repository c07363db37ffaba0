import Foundation
internal import CMicroHTTPDShim

// libmicrohttpd's callbacks. They are file-level, non-isolated C function pointers: a closure in
// main.swift would be main-actor isolated and trap when called on libmicrohttpd's threads.

let accessHandlerCallback: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let uploadDataSize, let conCls else { return MHD_Result.NO }
    let state = Unmanaged<ServerState>.fromOpaque(cls).takeUnretainedValue()
    return handle(state, connection, url, method, uploadData, uploadDataSize, conCls)
}

let requestCompletedCallback: MHD_RequestCompletedCallback = { cls, connection, conCls, _ in
    guard let cls, let conCls, let pointer = conCls.pointee else { return }
    let state = Unmanaged<ServerState>.fromOpaque(cls).takeUnretainedValue()
    let context = Unmanaged<RequestContext>.fromOpaque(pointer).takeRetainedValue()
    conCls.pointee = nil
    if let connection, let tracked = tracked(connection) { state.deadlines.completed(tracked) }
    if context.admitted { state.finishedOne() }
}

let connectionNotifyCallback: MHD_NotifyConnectionCallback = { cls, connection, socketContext, code in
    guard let cls, let connection, let socketContext else { return }
    let state = Unmanaged<ServerState>.fromOpaque(cls).takeUnretainedValue()
    if code == .CONNECTION_NOTIFY_STARTED {
        let tracked = state.deadlines.opened(fd: convos_mhd_connection_fd(connection))
        socketContext.pointee = Unmanaged.passRetained(tracked).toOpaque()
    } else if let pointer = socketContext.pointee {
        let tracked = Unmanaged<ConnectionDeadlines.Tracked>.fromOpaque(pointer).takeRetainedValue()
        state.deadlines.closed(tracked)
        socketContext.pointee = nil
    }
}

private func tracked(_ connection: OpaquePointer) -> ConnectionDeadlines.Tracked? {
    guard let pointer = convos_mhd_socket_context(connection) else { return nil }
    return Unmanaged<ConnectionDeadlines.Tracked>.fromOpaque(pointer).takeUnretainedValue()
}

private func handle(
    _ state: ServerState, _ connection: OpaquePointer, _ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?,
    _ uploadData: UnsafePointer<CChar>?, _ uploadDataSize: UnsafeMutablePointer<Int>,
    _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>
) -> MHD_Result {
    let limit = state.configuration.maxBodyBytes
    guard let existing = conCls.pointee else {
        // First call: the headers are in. Refuse an announced oversized body before reading any of it.
        let context = RequestContext(
            method: method.map { String(cString: $0) } ?? "GET",
            path: url.map { String(cString: $0) } ?? "/",
            headers: values(connection, .HEADER_KIND, lowercased: true),
            query: values(connection, .GET_ARGUMENT_KIND, lowercased: false))
        conCls.pointee = Unmanaged.passRetained(context).toOpaque()
        if let length = context.headers["content-length"].flatMap(Int.init), length > limit {
            context.tooLarge = true
            return queue(connection, HTTPError.tooLarge(limit: limit).response)
        }
        return MHD_Result.YES
    }
    let context = Unmanaged<RequestContext>.fromOpaque(existing).takeUnretainedValue()
    if let response = context.response {
        // Resumed: the handler has answered.
        context.response = nil
        if let stream = response.stream { return queueStream(state, connection, response, stream) }
        return queue(connection, response)
    }
    if uploadDataSize.pointee > 0 {
        let size = uploadDataSize.pointee
        if !context.tooLarge {
            if context.body.count + size > limit {
                // Chunked bodies have no length up front: stop keeping data once over the limit.
                context.tooLarge = true
                context.body = Data()
            } else if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { context.body.append($0, count: size) }
            }
        }
        uploadDataSize.pointee = 0
        return MHD_Result.YES
    }
    if context.tooLarge { return queue(connection, HTTPError.tooLarge(limit: limit).response) }
    guard !context.started else { return MHD_Result.YES }

    // The request is complete: hand it to the responder and suspend until it answers.
    context.started = true
    if let tracked = tracked(connection) { state.deadlines.received(tracked) }
    guard state.admit() else {
        var response = HTTPError.unavailable("the server is shutting down").response
        response.headers.append(("Connection", "close"))
        return queue(connection, response)
    }
    context.admitted = true
    let request = HTTPRequest(
        method: context.method, path: context.path, query: context.query, headers: context.headers,
        body: context.body, requestID: context.headers["x-request-id"].map { String($0.prefix(64)) } ?? HTTPRequest.newID())
    context.body = Data()
    MHD_suspend_connection(connection)
    let handle = ConnectionHandle(pointer: connection)
    let responder = state.responder
    Task {
        let response = await responder.respond(to: request)
        context.response = response
        MHD_resume_connection(handle.pointer)
    }
    return MHD_Result.YES
}

private func queue(_ connection: OpaquePointer, _ response: HTTPResponse) -> MHD_Result {
    let created: OpaquePointer? = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
    }
    guard let created else { return MHD_Result.NO }
    defer { MHD_destroy_response(created) }
    for (name, value) in response.headers { MHD_add_response_header(created, name, value) }
    return MHD_queue_response(connection, UInt32(response.status), created)
}

/// A streamed body: libmicrohttpd pulls from the stream (`streamReaderCallback`) with chunked
/// encoding, and frees the context (`streamFreeCallback`) when the connection is done with it.
private func queueStream(_ state: ServerState, _ connection: OpaquePointer, _ response: HTTPResponse, _ stream: HTTPStream) -> MHD_Result {
    let context = StreamContext(stream: stream, connection: ConnectionHandle(pointer: connection), state: state)
    let cls = Unmanaged.passRetained(context).toOpaque()
    guard let created = MHD_create_response_from_callback(UInt64.max, 16 * 1024, streamReaderCallback, cls, streamFreeCallback) else {
        Unmanaged<StreamContext>.fromOpaque(cls).release()
        stream.closed()
        return MHD_Result.NO
    }
    defer { MHD_destroy_response(created) }
    state.streamOpened(stream)
    for (name, value) in response.headers { MHD_add_response_header(created, name, value) }
    return MHD_queue_response(connection, UInt32(response.status), created)
}

private final class ValueBox { var values: [String: String] = [:]; var lowercased = false }

private func values(_ connection: OpaquePointer, _ kind: MHD_ValueKind, lowercased: Bool) -> [String: String] {
    let box = ValueBox()
    box.lowercased = lowercased
    _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
        guard let cls, let key else { return MHD_Result.YES }
        let box = Unmanaged<ValueBox>.fromOpaque(cls).takeUnretainedValue()
        let name = String(cString: key)
        box.values[box.lowercased ? name.lowercased() : name] = value.map { String(cString: $0) } ?? ""
        return MHD_Result.YES
    }, Unmanaged.passUnretained(box).toOpaque())
    return box.values
}
