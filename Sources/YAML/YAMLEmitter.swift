internal import CYAML

/// Writes node trees as YAML text with libyaml's emitter, which owns quoting and escaping.
///
/// Non-plain strings that would read back as something else (`"true"`, `"3"`, `""`) are quoted;
/// multi-line strings use the literal block style, so instructions read as they were written.
public enum YAMLEmitter {
    public static func emit(_ documents: [YAMLNode]) -> String {
        var emitter = yaml_emitter_t()
        guard yaml_emitter_initialize(&emitter) == 1 else { return "" }
        defer { yaml_emitter_delete(&emitter) }
        let sink = Sink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        yaml_emitter_set_output(&emitter, { data, buffer, size in
            guard let data, let buffer else { return 0 }
            Unmanaged<Sink>.fromOpaque(data).takeUnretainedValue().bytes
                .append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
            return 1
        }, context)
        yaml_emitter_set_unicode(&emitter, 1)
        yaml_emitter_set_width(&emitter, 120)
        var event = yaml_event_t()
        yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)
        yaml_emitter_emit(&emitter, &event)
        for (index, document) in documents.enumerated() {
            yaml_document_start_event_initialize(&event, nil, nil, nil, index == 0 ? 1 : 0)
            yaml_emitter_emit(&emitter, &event)
            emitNode(document, &emitter)
            yaml_document_end_event_initialize(&event, 1)
            yaml_emitter_emit(&emitter, &event)
        }
        yaml_stream_end_event_initialize(&event)
        yaml_emitter_emit(&emitter, &event)
        yaml_emitter_flush(&emitter)
        return String(decoding: sink.bytes, as: UTF8.self)
    }

    public static func emit(_ node: YAMLNode) -> String { emit([node]) }

    private final class Sink { var bytes: [UInt8] = [] }

    private static func emitNode(_ node: YAMLNode, _ emitter: inout yaml_emitter_t) {
        var event = yaml_event_t()
        switch node.kind {
        case .scalar(let s):
            scalar(s.text, plain: s.isPlain, &emitter)
        case .sequence(let items):
            yaml_sequence_start_event_initialize(&event, nil, nil, 1, items.isEmpty ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE)
            yaml_emitter_emit(&emitter, &event)
            for item in items { emitNode(item, &emitter) }
            yaml_sequence_end_event_initialize(&event)
            yaml_emitter_emit(&emitter, &event)
        case .mapping(let pairs):
            yaml_mapping_start_event_initialize(&event, nil, nil, 1, pairs.isEmpty ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE)
            yaml_emitter_emit(&emitter, &event)
            for pair in pairs {
                scalar(pair.key, plain: false, &emitter)
                emitNode(pair.value, &emitter)
            }
            yaml_mapping_end_event_initialize(&event)
            yaml_emitter_emit(&emitter, &event)
        }
    }

    private static func scalar(_ text: String, plain: Bool, _ emitter: inout yaml_emitter_t) {
        var event = yaml_event_t()
        // A string may be written plain only when it reads back as the same string.
        let plainOK = plain || CoreSchema.resolve(text) == .string
        let style = !plain && text.contains("\n") ? YAML_LITERAL_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE
        // NUL-terminated, so an empty string still has a valid pointer.
        var bytes = Array(text.utf8) + [0]
        bytes.withUnsafeMutableBufferPointer { buffer in
            _ = yaml_scalar_event_initialize(&event, nil, nil, buffer.baseAddress, Int32(buffer.count - 1),
                                             plainOK ? 1 : 0, 1, style)
        }
        yaml_emitter_emit(&emitter, &event)
    }
}
