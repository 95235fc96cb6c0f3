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
        // 2: people by numeric id (issue: a guest name's next holder must not read the earlier
        // holder's private messages). A private conversation's key becomes `@ID|ID` (the two
        // account ids, smaller first); a conversation of the old form whose two names were not
        // both registered accounts when its message was written (a guest took part) is moved
        // out of reach (`@legacy:` + its old key): nobody holds that guest's id any more.
        // Messages record their sender's id (guests' messages from before: none); tokens
        // record when they were last used, for expiry.
        [
            "ALTER TABLE messages ADD COLUMN sender_id INTEGER",
            """
            UPDATE messages SET sender_id = (
                SELECT u.id FROM users u WHERE u.username_key = messages.sender_key AND u.created_at <= messages.created_at
            )
            """,
            """
            UPDATE messages SET conversation = COALESCE(
                (SELECT '@' || MIN(a.id, b.id) || '|' || MAX(a.id, b.id)
                 FROM users a, users b
                 WHERE a.username_key = substr(messages.conversation, 2, instr(messages.conversation, '|') - 2)
                   AND b.username_key = substr(messages.conversation, instr(messages.conversation, '|') + 1)
                   AND a.created_at <= messages.created_at AND b.created_at <= messages.created_at),
                '@legacy:' || messages.conversation)
            WHERE conversation LIKE '@%' AND conversation NOT LIKE '@legacy:%'
            """,
            """
            UPDATE read_markers SET conversation = COALESCE(
                (SELECT '@' || MIN(a.id, b.id) || '|' || MAX(a.id, b.id)
                 FROM users a, users b
                 WHERE a.username_key = substr(read_markers.conversation, 2, instr(read_markers.conversation, '|') - 2)
                   AND b.username_key = substr(read_markers.conversation, instr(read_markers.conversation, '|') + 1)),
                '@legacy:' || read_markers.conversation)
            WHERE conversation LIKE '@%' AND conversation NOT LIKE '@legacy:%'
            """,
            "DROP INDEX messages_by_client_id",
            "CREATE INDEX messages_by_client_id ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL",
            "ALTER TABLE tokens ADD COLUMN last_used_at INTEGER",
            "UPDATE tokens SET last_used_at = created_at",
            "CREATE INDEX tokens_by_last_use ON tokens (last_used_at)",
        ],
    ]
}
