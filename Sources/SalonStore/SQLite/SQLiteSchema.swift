/// The versioned schema: `migrations[i]` takes the database from version `i` to `i + 1`
/// (`PRAGMA user_version`). Append new steps; never edit a released one.
enum SQLiteSchema {
    static let migrations: [[String]] = [
        // 1: accounts, tokens, rooms, memberships, read markers, messages.
        [
            """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                username TEXT NOT NULL,
                username_key TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE tokens (
                token_hash TEXT PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE rooms (
                name TEXT PRIMARY KEY,
                topic TEXT NOT NULL,
                private INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE memberships (
                room TEXT NOT NULL REFERENCES rooms (name) ON DELETE CASCADE,
                user_key TEXT NOT NULL,
                role TEXT NOT NULL,
                joined_at INTEGER NOT NULL,
                PRIMARY KEY (room, user_key)
            )
            """,
            """
            CREATE TABLE read_markers (
                user_key TEXT NOT NULL,
                conversation TEXT NOT NULL,
                message_id INTEGER NOT NULL,
                PRIMARY KEY (user_key, conversation)
            )
            """,
            """
            CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                conversation TEXT NOT NULL,
                room TEXT,
                sender TEXT NOT NULL,
                sender_key TEXT NOT NULL,
                recipient TEXT,
                text TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                reply_to INTEGER,
                client_msg_id TEXT
            )
            """,
            "CREATE INDEX messages_by_conversation ON messages (conversation, id)",
            "CREATE INDEX messages_by_client_id ON messages (sender_key, client_msg_id) WHERE client_msg_id IS NOT NULL",
        ],
    ]
}
