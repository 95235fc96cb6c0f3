import Foundation

/// A message's attachments as the stores keep them: the JSON array of its files' objects, as
/// messages show them, written once when the message is stored and read back as it is.
extension FileInfo {
    /// Nil for none (the column stays NULL: nothing written for the common message).
    public static func json(_ files: [FileInfo]) -> String? {
        guard !files.isEmpty else { return nil }
        var w = JSONWriter(capacity: 160 * files.count)
        w.raw("[")
        for (index, file) in files.enumerated() {
            if index > 0 { w.raw(",") }
            w.file(file)
        }
        w.raw("]")
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// The files of a stored array; none for NULL (or for what is not one).
    public static func list(fromJSON text: String?) -> [FileInfo] {
        guard let text, !text.isEmpty else { return [] }
        return (try? JSONDecoder().decode([FileInfo].self, from: Data(text.utf8))) ?? []
    }
}
