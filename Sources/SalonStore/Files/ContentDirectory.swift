import _NIOFileSystem
import NIOCore
import SalonCore
import SalonProtocol

/// Files' contents kept as files, by hash: `DIR/ab/abcdef…` (the first two hex digits as a
/// folder, so that no folder holds more than a few thousand). A content is written once:
/// the staged upload is synced, renamed into place (atomic on one file system), and the
/// folder synced, so that a content that was kept survives a crash. Uploads are staged in
/// `DIR/.staging`.
struct ContentDirectory: Sendable {
    let root: String
    var staging: String { root + "/.staging" }

    /// Creates the folders if needed, and empties the staging folder (what a crash left).
    static func open(_ root: String) async throws -> ContentDirectory {
        let directory = ContentDirectory(root: root)
        _ = try? await FileSystem.shared.removeItem(at: FilePath(directory.staging), recursively: true)
        try await FileSystem.shared.createDirectory(at: FilePath(directory.staging), withIntermediateDirectories: true)
        return directory
    }

    func path(of hash: String) throws -> String {
        // A hash is 64 lowercase hex digits: never a path of its own.
        guard hash.count == 64, hash.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ProtocolError(.fileNotFound, "no such file")
        }
        return root + "/" + hash.prefix(2) + "/" + hash
    }

    func keep(hash: String, from staged: String) async throws {
        let target = try path(of: hash)
        let fs = FileSystem.shared
        if try await fs.info(forFileAt: FilePath(target)) != nil {
            try await fs.removeItem(at: FilePath(staged))
            return
        }
        let folder = root + "/" + hash.prefix(2)
        try await fs.createDirectory(at: FilePath(folder), withIntermediateDirectories: true)
        try await fs.withFileHandle(forReadingAndWritingAt: FilePath(staged), options: .modifyFile(createIfNecessary: false)) { handle in
            try await handle.synchronize()
        }
        do {
            try await fs.moveItem(at: FilePath(staged), to: FilePath(target))
        } catch {
            // The same content, kept meanwhile by another upload: fine; anything else is not.
            guard try await fs.info(forFileAt: FilePath(target)) != nil else { throw error }
            _ = try? await fs.removeItem(at: FilePath(staged))
            return
        }
        try await fs.withDirectoryHandle(atPath: FilePath(folder)) { try await $0.synchronize() }
    }

    func read(hash: String, _ body: (ByteBuffer) async throws -> Void) async throws {
        let target = try path(of: hash)
        guard try await FileSystem.shared.info(forFileAt: FilePath(target)) != nil else {
            throw ProtocolError(.fileNotFound, "no such file")
        }
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(target)) { handle in
            for try await chunk in handle.readChunks(chunkLength: .kibibytes(64)) {
                try await body(chunk)
            }
        }
    }
}
