import Foundation
import Logging
import PostgresNIO
import SalonStore

/// The PostgreSQL server the tests use (`SALON_TEST_POSTGRES`, the URL of its maintenance
/// database; `./scripts/test` starts a throw-away one), and a new empty database on it for
/// each test.
enum TestPostgres {
    static var serverURL: String? {
        ProcessInfo.processInfo.environment["SALON_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Creates a database of its own for one test, already migrated; returns its URL.
    static func freshDatabase() async throws -> String {
        let template = try await migratedTemplate.value
        return try await createDatabase(template: template)
    }

    /// A database migrated once per test run, which each test's database copies (`CREATE
    /// DATABASE … TEMPLATE`): run by every PostgreSQL test at once, the migrations (each DDL
    /// statement a commit, with fsync) took the slowest past the store's 10 s deadline on two
    /// cores.
    private static let migratedTemplate = Task<String, any Error> {
        let url = try await createDatabase(template: nil)
        var logger = Logger(label: "test-postgres")
        logger.logLevel = .warning
        let store = try await PostgresChatStore.open(url: url, logger: logger)
        try await store.migrate()
        try await store.close()
        guard let name = URLComponents(string: url)?.path.dropFirst() else { throw TestPostgresError.notConfigured }
        return String(name)
    }

    private static func createDatabase(template: String?) async throws -> String {
        guard let server = serverURL, var parts = URLComponents(string: server), let host = parts.host else {
            throw TestPostgresError.notConfigured
        }
        let name = "salon_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres", password: parts.password,
            database: String(parts.path.dropFirst()), tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test-postgres"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? "")))
            group.cancelAll()
        }
        parts.path = "/" + name
        parts.query = "sslmode=disable"
        guard let url = parts.string else { throw TestPostgresError.notConfigured }
        return url
    }

    enum TestPostgresError: Error { case notConfigured }
}
