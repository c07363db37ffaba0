/// A unified diff of two texts, line by line, with three lines of context: what `diff -u` prints.
/// Pure; used by `convos-controller diff`.
package enum UnifiedDiff {
    package static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String? {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard a != b else { return nil }
        // Mark each line of both sides as kept or changed, from Swift's own LCS difference.
        let difference = b.difference(from: a)
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        // Walk both sides into one edit script.
        enum Op { case keep(Int, Int), delete(Int), insert(Int) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) { ops.append(.delete(i)); i += 1 }
            else if j < b.count, inserted.contains(j) { ops.append(.insert(j)); j += 1 }
            else { ops.append(.keep(i, j)); i += 1; j += 1 }
        }
        // Group changes into hunks with context.
        let changed = ops.indices.filter { if case .keep = ops[$0] { return false }; return true }
        var hunks: [(Int, Int)] = []
        for index in changed {
            let start = max(0, index - context), end = min(ops.count - 1, index + context)
            if let last = hunks.last, start <= last.1 + 1 { hunks[hunks.count - 1].1 = end } else { hunks.append((start, end)) }
        }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        for (start, end) in hunks {
            var lines: [String] = []
            var oldStart: Int?, newStart: Int?, oldCount = 0, newCount = 0
            for op in ops[start...end] {
                switch op {
                case .keep(let x, let y):
                    oldStart = oldStart ?? x; newStart = newStart ?? y
                    oldCount += 1; newCount += 1; lines.append(" " + a[x])
                case .delete(let x):
                    oldStart = oldStart ?? x; oldCount += 1; lines.append("-" + a[x])
                case .insert(let y):
                    newStart = newStart ?? y; newCount += 1; lines.append("+" + b[y])
                }
            }
            out.append("@@ -\((oldStart ?? 0) + (oldCount > 0 ? 1 : 0)),\(oldCount) +\((newStart ?? 0) + (newCount > 0 ? 1 : 0)),\(newCount) @@")
            out += lines
        }
        return out.joined(separator: "\n") + "\n"
    }
}
