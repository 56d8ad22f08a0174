"""The interaction log's schema, as numbered migrations.

A database remembers how many migrations it has run (``PRAGMA user_version``); opening it
runs the rest, in one transaction. Append new steps at the end; never edit a shipped one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from servicebot.errors import StorageError

# Said when a database was migrated by a newer servicebot (str.format template).
NEWER_SCHEMA = "互动记录数据库的版本（{version}）比这个程序新（{known}），请升级 servicebot"


def _m001_interactions(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,      -- links buttons and feedback to this row
            at TEXT NOT NULL,              -- UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'
            channel TEXT NOT NULL,         -- telegram | chat | ask
            chat_type TEXT NOT NULL,
            resident TEXT,                 -- keyed hash of the user id, never the id itself
            question TEXT NOT NULL,        -- phone and ID-card numbers masked
            normalized TEXT NOT NULL,
            status TEXT NOT NULL,          -- answered | suggest | unanswered | tap
            entry_id TEXT,
            score REAL NOT NULL,
            suggestions TEXT NOT NULL,     -- JSON list of the entry ids offered
            via TEXT NOT NULL,             -- question | suggestion | topic | related | none
            origin_ref TEXT                -- the interaction whose button led here
        )
        """
    )
    conn.execute("CREATE INDEX interactions_at ON interactions (at)")


def _m002_feedback(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE feedback (
            ref TEXT PRIMARY KEY,          -- interactions.ref of the rated answer
            positive INTEGER NOT NULL,     -- 1 = 👍, 0 = 👎; a second tap replaces the first
            at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX feedback_at ON feedback (at)")


def _m003_mask_again(conn: sqlite3.Connection) -> None:
    """Rows from before masking knew full-width digits, separators, Chinese numerals, bank cards
    and e-mail addresses: mask them as a row written today would be."""
    from servicebot.privacy import mask_personal

    changed = [
        (masked_question, masked_normalized, row_id)
        for row_id, question, normalized in conn.execute("SELECT id, question, normalized FROM interactions")
        if (masked_question := mask_personal(question), masked_normalized := mask_personal(normalized))
        != (question, normalized)
    ]
    conn.executemany("UPDATE interactions SET question = ?, normalized = ? WHERE id = ?", changed)


def _m004_tickets(conn: sqlite3.Connection) -> None:
    """Hand-off to staff (转人工): tickets, what was said in them, which staff-group messages
    belong to which ticket, and messages waiting for residents who are not online."""
    conn.execute(
        """
        CREATE TABLE tickets (
            number INTEGER PRIMARY KEY,    -- the #number residents and staff see
            opened_at TEXT NOT NULL,       -- UTC, as interactions.at
            channel TEXT NOT NULL,         -- telegram | web | wechat
            resident TEXT NOT NULL,        -- keyed hash of the resident, never the id itself
            address TEXT,                  -- where staff replies go (chat id, web session, OpenID);
                                           -- deleted when the ticket closes or after ticket_days
            ref TEXT,                      -- interactions.ref of the question handed off; NULL: none asked
            question TEXT NOT NULL,        -- masked
            bot_said TEXT NOT NULL,        -- JSON: what the bot did with the question
            status TEXT NOT NULL,          -- open | answered | unreachable | closed
            last_activity TEXT NOT NULL,   -- opened, resident wrote, staff replied
            left_at TEXT,                  -- the resident went back to the bot
            room_chat INTEGER,             -- the staff group the ticket was posted in
            room_message INTEGER,          -- its message there; NULL until posted
            post_error TEXT,               -- why posting failed the last time; NULL once posted
            told_unposted INTEGER NOT NULL DEFAULT 0,  -- the resident was told it had not reached staff
            answered_by TEXT,              -- first name of the staff member who replied last
            answered_at TEXT,
            closed_by TEXT,                -- first name, or '' when it expired
            closed_at TEXT
        )
        """
    )
    conn.execute("CREATE INDEX tickets_resident ON tickets (resident)")
    conn.execute("CREATE INDEX tickets_ref ON tickets (ref)")
    conn.execute("CREATE INDEX tickets_status ON tickets (status)")
    conn.execute(
        """
        CREATE TABLE ticket_messages (
            id INTEGER PRIMARY KEY,
            ticket INTEGER NOT NULL,       -- tickets.number
            at TEXT NOT NULL,
            author TEXT NOT NULL,          -- resident | staff
            text TEXT NOT NULL,            -- masked
            staff_name TEXT,               -- staff: the first name shown to staff
            source TEXT UNIQUE,            -- staff: "<chat>:<message>" of their reply, so it is relayed once
            ref TEXT,                      -- staff: the reference its 👍/👎 carry
            pending TEXT,                  -- staff: the reply as written, only until it is delivered
            delivered_at TEXT,
            outcome TEXT,                  -- staff: sent | kept | retry | gone
            room_message INTEGER,          -- resident: its message in the staff group; NULL until posted
            faq INTEGER NOT NULL DEFAULT 0 -- staff: marked 加入问答
        )
        """
    )
    conn.execute("CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket)")
    conn.execute(
        """
        CREATE TABLE room_messages (
            chat INTEGER NOT NULL,         -- the staff group
            message INTEGER NOT NULL,      -- a message of the bot there
            ticket INTEGER NOT NULL,       -- a staff reply to it goes to this ticket
            PRIMARY KEY (chat, message)
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,        -- grows; a page asks for what is after the last id it saw
            channel TEXT NOT NULL,
            resident TEXT NOT NULL,        -- the channel's keyed hash of the resident
            at TEXT NOT NULL,
            message TEXT NOT NULL          -- JSON, as the channel shows it
        )
        """
    )
    conn.execute("CREATE INDEX outbox_resident ON outbox (channel, resident, id)")


def _m005_staff_desk(conn: sqlite3.Connection) -> None:
    """The staff desk in a browser: staff accounts (created from the CLI) and their sessions."""
    conn.execute(
        """
        CREATE TABLE staff_accounts (
            name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,  -- shown to colleagues and in tickets
            password TEXT NOT NULL,        -- argon2id hash (PHC string); never the password
            admin INTEGER NOT NULL DEFAULT 0,  -- may apply a held-back FAQ reload
            created_at TEXT NOT NULL,
            password_at TEXT NOT NULL,
            disabled_at TEXT               -- NULL: may sign in
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE staff_sessions (
            id TEXT PRIMARY KEY,           -- sha256 of the session cookie; the cookie itself is never stored
            account TEXT NOT NULL COLLATE NOCASE,  -- staff_accounts.name
            csrf TEXT NOT NULL,            -- the token every form of this session carries
            created_at TEXT NOT NULL,
            seen_at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX staff_sessions_account ON staff_sessions (account)")


def _m006_identities(conn: sqlite3.Connection) -> None:
    """Nothing lost, nobody misdirected (issue 22):
    - every ticket gets a random key, shown with its number on the staff's card: numbers
      start again in a new file (a deleted log, a restored backup), keys do not, so an old
      card cannot be taken for a new ticket with its number;
    - what the desk was sending when the bot stopped (a card, a resident's message for staff,
      a staff reply) is marked, so that sending it again after a crash is counted;
    - the outbox remembers which messages it was given (`once`), so a staff reply delivered
      again after a crash is kept once;
    - `meta`: facts about the file itself (when the bot found its predecessor deleted)."""
    from servicebot.records import new_ticket_key

    conn.execute("ALTER TABLE tickets ADD COLUMN key TEXT")
    numbers = [n for (n,) in conn.execute("SELECT number FROM tickets")]
    conn.executemany("UPDATE tickets SET key = ? WHERE number = ?", [(new_ticket_key(), n) for n in numbers])
    conn.execute("CREATE UNIQUE INDEX tickets_key ON tickets (key)")
    conn.execute("ALTER TABLE tickets ADD COLUMN posting INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE ticket_messages ADD COLUMN sending INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        """
        CREATE TABLE outbox_once (
            channel TEXT NOT NULL,
            once TEXT NOT NULL,            -- the sender's name for the message (a staff reply's ref)
            at TEXT NOT NULL,
            PRIMARY KEY (channel, once)
        )
        """
    )
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


# Numbered by position: MIGRATIONS[0] is migration 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _m001_interactions,
    _m002_feedback,
    _m003_mask_again,
    _m004_tickets,
    _m005_staff_desk,
    _m006_identities,
)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Run the migrations this database has not run yet, in one transaction; the new version."""
    if schema_version(conn) == len(MIGRATIONS):
        return len(MIGRATIONS)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)  # again, under the write lock: another process may have migrated
        if version > len(MIGRATIONS):
            raise StorageError(NEWER_SCHEMA.format(version=version, known=len(MIGRATIONS)))
        for number in range(version + 1, len(MIGRATIONS) + 1):
            MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)
