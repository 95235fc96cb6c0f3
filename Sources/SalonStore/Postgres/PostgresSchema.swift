/// The PostgreSQL schema, as versioned migrations: migration N (from 1) takes the schema
/// from version N-1 to N. `PostgresChatStore.migrate` runs them under an advisory lock, so
/// that nodes starting together migrate once. The tables mean what SQLite's do
/// (`SQLiteSchema`, version 3); the differences are PostgreSQL's: `counters` holds the one
/// sequence of `seq` (taken under its row lock until commit, so that commit order is `seq`
/// order across nodes) and the ids of people, and search is a `tsvector` of the message's
/// words (`SearchText.normalized`) with accents removed (`unaccent`).
enum PostgresSchema {
    /// The key of the advisory lock taken while migrating ("salon" in ASCII).
    static let migrationLock: Int64 = 0x7361_6C6F_6E

    static let migrations: [[String]] = [
        [
            "CREATE EXTENSION IF NOT EXISTS unaccent",
            // `unaccent` is only STABLE (it reads a dictionary); an index needs IMMUTABLE.
            """
            CREATE OR REPLACE FUNCTION salon_unaccent(text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT unaccent('unaccent'::regdictionary, $1) $$
            """,
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO counters (name, value) VALUES ('seq', 0), ('users', 0)",
            """
            CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                username TEXT NOT NULL,
                username_key TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE tokens (
                token_hash TEXT PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX tokens_by_last_use ON tokens (last_used_at)",
            """
            CREATE TABLE rooms (
                id BIGSERIAL PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                topic TEXT NOT NULL,
                private BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE memberships (
                room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
                user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                joined_at BIGINT NOT NULL,
                PRIMARY KEY (room_id, user_id)
            )
            """,
            "CREATE INDEX memberships_by_user ON memberships (user_id)",
            """
            CREATE TABLE membership_periods (
                room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
                user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                joined_seq BIGINT NOT NULL,
                left_seq BIGINT
            )
            """,
            "CREATE INDEX membership_periods_by_user ON membership_periods (user_id, room_id)",
            """
            CREATE TABLE messages (
                id BIGINT PRIMARY KEY,
                room_id BIGINT REFERENCES rooms (id) ON DELETE CASCADE,
                sender_id BIGINT REFERENCES users (id),
                recipient_id BIGINT REFERENCES users (id),
                conversation TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipient TEXT,
                text TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                edited_at BIGINT,
                deleted BOOLEAN NOT NULL DEFAULT false,
                reply_to BIGINT,
                client_msg_id TEXT,
                search TSVECTOR NOT NULL
            )
            """,
            "CREATE INDEX messages_by_conversation ON messages (conversation, id)",
            "CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL",
            "CREATE INDEX messages_direct_by_sender ON messages (sender_id, id) WHERE room_id IS NULL",
            "CREATE INDEX messages_direct_by_recipient ON messages (recipient_id, id) WHERE room_id IS NULL",
            "CREATE INDEX messages_search ON messages USING GIN (search)",
            """
            CREATE TABLE read_markers (
                user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                conversation TEXT NOT NULL,
                message_id BIGINT NOT NULL,
                PRIMARY KEY (user_id, conversation)
            )
            """,
            """
            CREATE TABLE reactions (
                message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                emoji TEXT NOT NULL,
                user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                username TEXT NOT NULL,
                seq BIGINT NOT NULL,
                PRIMARY KEY (message_id, emoji, user_id)
            )
            """,
            """
            CREATE TABLE events (
                seq BIGINT PRIMARY KEY,
                type TEXT NOT NULL,
                scope INTEGER NOT NULL,
                room_id BIGINT REFERENCES rooms (id) ON DELETE CASCADE,
                user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
                peer_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
                actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
                message_id BIGINT REFERENCES messages (id) ON DELETE CASCADE,
                data TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX events_by_room ON events (room_id, seq) WHERE room_id IS NOT NULL",
            "CREATE INDEX events_by_user ON events (user_id, seq) WHERE user_id IS NOT NULL",
            "CREATE INDEX events_by_peer ON events (peer_id, seq) WHERE peer_id IS NOT NULL",
            "CREATE INDEX events_for_everyone ON events (seq) WHERE scope = 3",
        ],
        // Who is online on which node (`PostgresChatStore+Cluster`): rows of a node go with it.
        [
            "CREATE TABLE nodes (name TEXT PRIMARY KEY, seen_at BIGINT NOT NULL)",
            """
            CREATE TABLE online (
                node TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
                user_id BIGINT NOT NULL,
                username TEXT NOT NULL,
                username_key TEXT NOT NULL,
                is_guest BOOLEAN NOT NULL,
                PRIMARY KEY (node, user_id)
            )
            """,
            "CREATE INDEX online_by_user ON online (user_id)",
            // A guest name is one guest's at a time, across the cluster.
            "CREATE UNIQUE INDEX online_guest_names ON online (username_key) WHERE is_guest",
            // Failed-login allowances per account, shared by all nodes (token buckets).
            "CREATE TABLE login_buckets (account TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL)",
        ],
        // Moderation (issue 13): as SQLite's step 4.
        [
            """
            CREATE TABLE sanctions (
                kind TEXT NOT NULL,
                user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                room_id BIGINT NOT NULL,
                by_name TEXT,
                reason TEXT,
                until BIGINT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (kind, user_id, room_id)
            )
            """,
            """
            CREATE TABLE moderation_log (
                seq BIGINT PRIMARY KEY,
                action TEXT NOT NULL,
                by_name TEXT,
                username TEXT NOT NULL,
                room_id BIGINT,
                room TEXT,
                reason TEXT,
                duration_seconds BIGINT,
                role TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX moderation_log_by_room ON moderation_log (room_id, seq)",
            "ALTER TABLE users ADD COLUMN last_seen_at BIGINT",
        ],
        // Files (issue 14): as SQLite's step 5, and the contents themselves, in the database
        // (every node reads them): `file_contents` says a content is whole, `file_parts`
        // holds it in parts of a megabyte, written in the transaction that adds its row.
        [
            """
            CREATE TABLE files (
                id TEXT PRIMARY KEY,
                hash TEXT NOT NULL,
                name TEXT NOT NULL,
                size BIGINT NOT NULL,
                type TEXT NOT NULL,
                width BIGINT,
                height BIGINT,
                preview_hash TEXT,
                preview_type TEXT,
                uploader_id BIGINT NOT NULL REFERENCES users (id),
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE message_files (
                file_id TEXT NOT NULL REFERENCES files (id),
                message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                PRIMARY KEY (file_id, message_id)
            )
            """,
            "CREATE INDEX message_files_by_message ON message_files (message_id)",
            "ALTER TABLE messages ADD COLUMN attachments TEXT",
            "CREATE TABLE file_contents (hash TEXT PRIMARY KEY, size BIGINT NOT NULL)",
            """
            CREATE TABLE file_parts (
                hash TEXT NOT NULL REFERENCES file_contents (hash) ON DELETE CASCADE,
                part INTEGER NOT NULL,
                data BYTEA NOT NULL,
                PRIMARY KEY (hash, part)
            )
            """,
        ],
        // Bots and incoming webhooks (issue 14): as SQLite's step 6.
        [
            "ALTER TABLE messages ADD COLUMN sender_bot BOOLEAN NOT NULL DEFAULT false",
            """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
                bot_id BIGINT NOT NULL REFERENCES users (id),
                created_by BIGINT REFERENCES users (id),
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX webhooks_by_room ON webhooks (room_id)",
        ],
    ]
}
