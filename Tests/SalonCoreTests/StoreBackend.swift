import Foundation
import Logging
import SalonCore
import SalonStore
import Testing

/// The backends a store-backed test runs on. PostgreSQL is in the list when
/// `SALON_TEST_POSTGRES` names a server (`./scripts/test` starts one); without it,
/// `StoreContractTests.postgresIsTested` fails, so that a run without PostgreSQL never looks
/// complete.
enum StoreBackend: String, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var allCases: [StoreBackend] {
        TestPostgres.serverURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// A new, empty, migrated store.
    func open() async throws -> any ChatStore {
        let (store, _) = try await openPlace(nil)
        try await store.migrate()
        return store
    }

    /// Opens the store at `place` (a folder for SQLite, a database URL for PostgreSQL), or a
    /// new one; returns it with its place, so that a test can open it again ("a restart").
    func openPlace(_ place: String?) async throws -> (any ChatStore, String) {
        var logger = Logger(label: "store-test")
        logger.logLevel = .warning
        switch self {
        case .sqlite:
            let dir = place ?? FileManager.default.temporaryDirectory.appendingPathComponent("salon-test-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return (try await SQLiteChatStore.open(path: dir + "/salon.sqlite", logger: logger), dir)
        case .postgres:
            let url: String
            if let place { url = place } else { url = try await TestPostgres.freshDatabase() }
            return (try await PostgresChatStore.open(url: url, logger: logger), url)
        }
    }
}
