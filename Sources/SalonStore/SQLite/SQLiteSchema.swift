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
        // 3: the event log (issue 10). One sequence (`sequence`) numbers every event, and a
        // message's id is the seq of its event. Rooms get numeric ids (`rooms.id`, never
        // reused) and everything refers to rooms and people by id, with foreign keys: a
        // conversation's key is `#ROOMID` or `@A|B`. Guests who did something durable have a
        // row in `users` (role `guest`, key `#guest:ID`, which no login name can be).
        // The log is two tables: a new message's event is its `messages` row (its id is its
        // seq), every other change is a row of `events`. Memberships keep their history
        // (`membership_periods`, for `sync`); messages keep their edits, deletions
        // (tombstones) and reactions; a unique index on `(sender_id, client_msg_id)` makes a
        // retry impossible to store twice (an older duplicate keeps the message, without its
        // `client_msg_id`); `message_search` is the full-text index (FTS5, accents and case
        // ignored), kept by triggers.
        [
            """
            INSERT OR IGNORE INTO users (id, username, username_key, password_hash, role, created_at)
            SELECT sender_id, sender, '#guest:' || sender_id, '', 'guest', MIN(created_at) FROM messages
            WHERE sender_id IS NOT NULL AND sender_id NOT IN (SELECT id FROM users) GROUP BY sender_id
            """,
            """
            CREATE TABLE sequence (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)
            """,
            "INSERT INTO sequence (id, value) SELECT 1, COALESCE(MAX(id), 0) FROM messages",
            """
            CREATE TABLE rooms_v3 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE,
                topic TEXT NOT NULL,
                private INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            "INSERT INTO rooms_v3 (name, topic, private, created_at) SELECT name, topic, private, created_at FROM rooms ORDER BY created_at, name",
            """
            CREATE TABLE memberships_v3 (
                room_id INTEGER NOT NULL REFERENCES rooms_v3 (id) ON DELETE CASCADE,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                joined_at INTEGER NOT NULL,
                PRIMARY KEY (room_id, user_id)
            )
            """,
            """
            INSERT INTO memberships_v3 (room_id, user_id, role, joined_at)
            SELECT r.id, u.id, m.role, m.joined_at FROM memberships m
            JOIN rooms_v3 r ON r.name = m.room JOIN users u ON u.username_key = m.user_key
            """,
            """
            CREATE TABLE membership_periods (
                room_id INTEGER NOT NULL REFERENCES rooms_v3 (id) ON DELETE CASCADE,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                joined_seq INTEGER NOT NULL,
                left_seq INTEGER
            )
            """,
            "INSERT INTO membership_periods (room_id, user_id, joined_seq) SELECT room_id, user_id, 0 FROM memberships_v3",
            """
            CREATE TABLE messages_v3 (
                id INTEGER PRIMARY KEY,
                room_id INTEGER REFERENCES rooms_v3 (id) ON DELETE CASCADE,
                sender_id INTEGER REFERENCES users (id),
                recipient_id INTEGER REFERENCES users (id),
                conversation TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipient TEXT,
                text TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                edited_at INTEGER,
                deleted INTEGER NOT NULL DEFAULT 0,
                reply_to INTEGER,
                client_msg_id TEXT
            )
            """,
            """
            INSERT INTO messages_v3 (id, room_id, sender_id, recipient_id, conversation, sender, recipient, text, created_at, reply_to, client_msg_id)
            SELECT m.id, r.id, m.sender_id,
                CASE WHEN m.room IS NULL AND m.conversation GLOB '@[0-9]*|[0-9]*' THEN (
                    SELECT u.id FROM users u WHERE u.id = CASE
                        WHEN CAST(substr(m.conversation, 2, instr(m.conversation, '|') - 2) AS INTEGER) = m.sender_id
                        THEN CAST(substr(m.conversation, instr(m.conversation, '|') + 1) AS INTEGER)
                        ELSE CAST(substr(m.conversation, 2, instr(m.conversation, '|') - 2) AS INTEGER) END)
                END,
                CASE WHEN m.room IS NULL THEN m.conversation ELSE COALESCE('#' || r.id, '@legacy:' || m.conversation) END,
                m.sender, m.recipient, m.text, m.created_at, m.reply_to,
                CASE WHEN EXISTS (SELECT 1 FROM messages o WHERE o.sender_id = m.sender_id AND o.client_msg_id = m.client_msg_id AND o.id < m.id)
                    THEN NULL ELSE m.client_msg_id END
            FROM messages m LEFT JOIN rooms_v3 r ON r.name = m.room
            """,
            """
            CREATE TABLE read_markers_v3 (
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                conversation TEXT NOT NULL,
                message_id INTEGER NOT NULL,
                PRIMARY KEY (user_id, conversation)
            )
            """,
            """
            INSERT OR IGNORE INTO read_markers_v3 (user_id, conversation, message_id)
            SELECT u.id, CASE WHEN rm.conversation LIKE '#%' THEN COALESCE('#' || r.id, '@legacy:' || rm.conversation) ELSE rm.conversation END,
                rm.message_id
            FROM read_markers rm JOIN users u ON u.username_key = rm.user_key
            LEFT JOIN rooms_v3 r ON rm.conversation LIKE '#%' AND r.name = substr(rm.conversation, 2)
            """,
            "DROP TABLE read_markers",
            "DROP TABLE messages",
            "DROP TABLE memberships",
            "DROP TABLE rooms",
            "ALTER TABLE rooms_v3 RENAME TO rooms",
            "ALTER TABLE memberships_v3 RENAME TO memberships",
            "ALTER TABLE messages_v3 RENAME TO messages",
            "ALTER TABLE read_markers_v3 RENAME TO read_markers",
            "CREATE INDEX memberships_by_user ON memberships (user_id)",
            "CREATE INDEX membership_periods_by_user ON membership_periods (user_id, room_id)",
            "CREATE INDEX messages_by_conversation ON messages (conversation, id)",
            "CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL",
            "CREATE INDEX messages_direct_by_sender ON messages (sender_id, id) WHERE room_id IS NULL",
            "CREATE INDEX messages_direct_by_recipient ON messages (recipient_id, id) WHERE room_id IS NULL",
            """
            CREATE TABLE reactions (
                message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                emoji TEXT NOT NULL,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                username TEXT NOT NULL,
                seq INTEGER NOT NULL,
                PRIMARY KEY (message_id, emoji, user_id)
            )
            """,
            """
            CREATE TABLE events (
                seq INTEGER PRIMARY KEY,
                type TEXT NOT NULL,
                scope INTEGER NOT NULL,
                room_id INTEGER REFERENCES rooms (id) ON DELETE CASCADE,
                user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
                peer_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
                actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
                message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
                data TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX events_by_room ON events (room_id, seq) WHERE room_id IS NOT NULL",
            "CREATE INDEX events_by_user ON events (user_id, seq) WHERE user_id IS NOT NULL",
            "CREATE INDEX events_by_peer ON events (peer_id, seq) WHERE peer_id IS NOT NULL",
            "CREATE INDEX events_for_everyone ON events (seq) WHERE scope = 3",
            """
            CREATE VIRTUAL TABLE message_search USING fts5(
                text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2', columnsize = 0
            )
            """,
            "INSERT INTO message_search (rowid, text) SELECT id, text FROM messages WHERE deleted = 0",
            // New messages are indexed in batches (`SQLiteChatStore.indexPending`), up to
            // `indexed_through`; an edit or a deletion of an indexed message changes the index
            // at once, in its own transaction.
            "CREATE TABLE search_progress (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_through INTEGER NOT NULL)",
            "INSERT INTO search_progress (id, indexed_through) SELECT 1, COALESCE(MAX(id), 0) FROM messages",
            """
            CREATE TRIGGER messages_reindexed AFTER UPDATE OF text ON messages
            WHEN old.id <= (SELECT indexed_through FROM search_progress WHERE id = 1) BEGIN
                INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.id, old.text);
                INSERT INTO message_search (rowid, text) VALUES (new.id, new.text);
            END
            """,
            """
            CREATE TRIGGER messages_unindexed AFTER DELETE ON messages
            WHEN old.id <= (SELECT indexed_through FROM search_progress WHERE id = 1) BEGIN
                INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.id, old.text);
            END
            """,
            // `sequence` is a floor, written by every transaction that is not only new
            // messages: the newest seq is the largest of it, the newest message id and the
            // newest event seq. (One process writes events to a database: the server, which
            // keeps the sequence in memory.)
        ],
        // 4: moderation (issue 13). Bans and mutes, by kind, person and room (0: the whole
        // server), until lifted or `until`; the moderation log, one line per act, by the seq
        // of its first event (kept when the room goes: no foreign key on the room); when an
        // account was last seen (a login, or a token's use, noted at most hourly).
        [
            """
            CREATE TABLE sanctions (
                kind TEXT NOT NULL,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                room_id INTEGER NOT NULL,
                by_name TEXT,
                reason TEXT,
                until INTEGER,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (kind, user_id, room_id)
            )
            """,
            """
            CREATE TABLE moderation_log (
                seq INTEGER PRIMARY KEY,
                action TEXT NOT NULL,
                by_name TEXT,
                username TEXT NOT NULL,
                room_id INTEGER,
                room TEXT,
                reason TEXT,
                duration_seconds INTEGER,
                role TEXT,
                created_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX moderation_log_by_room ON moderation_log (room_id, seq)",
            "ALTER TABLE users ADD COLUMN last_seen_at INTEGER",
        ],
        // 5: files (issue 14). A file is what one upload said of a content (kept by hash,
        // as a file beside the database: `ContentDirectory`); `message_files` says which
        // messages carry it, for who may read it; a message's `attachments` are the files'
        // JSON objects as it shows them (NULL: none).
        [
            """
            CREATE TABLE files (
                id TEXT PRIMARY KEY,
                hash TEXT NOT NULL,
                name TEXT NOT NULL,
                size INTEGER NOT NULL,
                type TEXT NOT NULL,
                width INTEGER,
                height INTEGER,
                preview_hash TEXT,
                preview_type TEXT,
                uploader_id INTEGER NOT NULL REFERENCES users (id),
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE message_files (
                file_id TEXT NOT NULL REFERENCES files (id),
                message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                PRIMARY KEY (file_id, message_id)
            )
            """,
            "CREATE INDEX message_files_by_message ON message_files (message_id)",
            "ALTER TABLE messages ADD COLUMN attachments TEXT",
        ],
        // 6: bots and incoming webhooks (issue 14). A bot is an account whose password hash is
        // `UserRecord.botPasswordHash` (it has no password); each message says whether a bot
        // sent it. A webhook posts into its room as its own bot account; only the SHA-256 of
        // its secret URL's token is kept.
        [
            "ALTER TABLE messages ADD COLUMN sender_bot INTEGER NOT NULL DEFAULT 0",
            """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
                bot_id INTEGER NOT NULL REFERENCES users (id),
                created_by INTEGER REFERENCES users (id),
                created_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX webhooks_by_room ON webhooks (room_id)",
        ],
    ]
}
