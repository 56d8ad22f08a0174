"""`TicketStore`: the hand-off tickets (转人工) in the log's SQLite file, so a restart loses nothing.

The rows it returns are defined in `storage/tickets.py`. Every method is one short
transaction on the process's one connection (`Database`); the desk calls them from a worker
thread, so the event loop never waits for the disk.

Identity: a ticket is named by its number *and* its random key (`records.TicketId`). Every
method that acts on a ticket for staff takes both and does nothing when they do not belong
together: a card from before the log file was deleted or restored names a number that is
now someone else's ticket, with another key.

Sending marks: a card, a resident's message for staff or a staff reply is marked before it
is sent and unmarked when the outcome is recorded; one still marked after a crash may have
arrived already, and is counted when it is sent again (Telegram cannot say whether it did).

Privacy, by construction:
- texts are masked (`mask_personal`) here, whatever the caller passed;
- the resident appears as a keyed hash, except `address` — the channel's own id of the
  resident, needed to deliver staff replies — which is set to NULL when the ticket closes,
  when a reply shows the resident cannot be reached, and after `ticket_days` (`expire`);
- a staff reply is kept as written (`pending`) only until it has been delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from servicebot.privacy import mask_personal
from servicebot.records import Channel, Status, TicketId, TicketStatus, new_ticket_key
from servicebot.storage.db import Database, database_for, from_utc_text, utc_text
from servicebot.storage.tickets import (
    LIVE,
    TICKET_COLUMNS,
    AskedRow,
    Author,
    BotSaid,
    DeskHealth,
    PendingReply,
    StaffAnswer,
    TicketMessage,
    TicketRow,
    Unposted,
    ticket_row,
)

MAX_KEPT_CHARS = 4000  # characters of a message kept in a ticket


def _clip(text: str) -> str:
    return mask_personal(text[:MAX_KEPT_CHARS])


class TicketStore:
    """The tickets of one database file; see the module docstring. `db` is the process's
    `Database` (or a path, for a connection of its own: the commands, `health`)."""

    def __init__(self, db: Database | Path, *, create: bool = True):
        self.db, self._owned = database_for(db, create=create)

    def close(self) -> None:
        if self._owned:
            self.db.close()

    # -- opening and reading -------------------------------------------------------------

    def open_ticket(
        self,
        *,
        channel: Channel,
        resident: str,
        address: str,
        ref: str | None,
        question: str,
        bot_said: BotSaid,
        at: dt.datetime,
    ) -> TicketRow:
        moment = utc_text(at)
        values = (
            moment,
            channel.value,
            resident,
            address,
            ref,
            _clip(question),
            bot_said.to_json(),
            TicketStatus.OPEN.value,
        )
        with self.db.transaction() as conn:
            for _ in range(5):  # a key taken already (about one in a billion): draw again
                try:
                    number = conn.execute(
                        "INSERT INTO tickets (opened_at, channel, resident, address, ref, question, bot_said, status,"
                        " last_activity, key) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (*values, moment, new_ticket_key()),
                    ).lastrowid
                    return self._get(conn, number)
                except sqlite3.IntegrityError:
                    continue
            raise sqlite3.IntegrityError("no free ticket key")

    def ticket(self, number: int) -> TicketRow | None:
        """The ticket numbered `number` in this file (for listings; staff actions use `find`)."""
        with self.db.transaction(write=False) as conn:
            return self._find(conn, number)

    def find(self, ticket: TicketId) -> TicketRow | None:
        """The ticket `ticket` names, if its number and key belong together in this file."""
        with self.db.transaction(write=False) as conn:
            return self._named(conn, ticket)

    def ticket_for_ref(self, ref: str) -> TicketRow | None:
        """The latest ticket that handed off the question of interaction `ref`."""
        with self.db.transaction(write=False) as conn:
            (number,) = conn.execute("SELECT max(number) FROM tickets WHERE ref = ?", (ref,)).fetchone()
            return self._find(conn, number) if number is not None else None

    def active_since(self, since: dt.datetime) -> list[TicketRow]:
        """Tickets residents may still be writing in: live, not left, active since `since`."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.status IN (?, ?) AND t.address IS NOT NULL"
                " AND t.left_at IS NULL AND t.last_activity >= ? ORDER BY t.number",
                (*LIVE, utc_text(since)),
            ).fetchall()
        return [ticket_row(r) for r in rows]

    def listing(self, *, open_only: bool = False, limit: int | None = None) -> list[TicketRow]:
        """Tickets, newest first; `open_only`: those not closed."""
        where = "WHERE t.status != 'closed'" if open_only else ""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {TICKET_COLUMNS} FROM tickets t {where} ORDER BY t.number DESC LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [ticket_row(r) for r in rows]

    def messages(self, ticket: TicketId) -> list[TicketMessage]:
        """What the resident and staff wrote in the ticket after it opened, oldest first (none
        when `ticket` is not in this file)."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT m.at, m.author, m.text, coalesce(m.staff_name, ''), m.outcome, m.faq FROM ticket_messages m"
                " JOIN tickets t ON t.number = m.ticket WHERE t.number = ? AND t.key = ? ORDER BY m.id",
                (ticket.number, ticket.key),
            ).fetchall()
        return [
            TicketMessage(from_utc_text(at), author, text, name, outcome, bool(faq))
            for at, author, text, name, outcome, faq in rows
        ]

    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever a ticket opens, changes status, is written in or answered: the staff
        desk's pages ask for it every few seconds, and redraw only when it changed."""
        with self.db.transaction(write=False) as conn:
            tickets = conn.execute(
                "SELECT count(*), max(number), max(last_activity), max(answered_at), max(closed_at),"
                " total(status = 'closed'), total(status = 'unreachable'), total(room_message IS NULL)"
                " FROM tickets"
            ).fetchone()
            messages = conn.execute("SELECT max(id), count(outcome), total(faq) FROM ticket_messages").fetchone()
        return (*tickets, *messages)

    def asked(self, ref: str) -> AskedRow | None:
        """A logged interaction, for a button tapped after a restart, when the desk's memory of
        recent questions is gone; None if there is none, or its status is not one of `Status`."""
        with self.db.transaction(write=False) as conn:
            row = conn.execute(
                "SELECT question, status, entry_id, suggestions, resident FROM interactions WHERE ref = ?", (ref,)
            ).fetchone()
        if row is None or row[1] not in set(Status):
            return None
        try:
            suggestions = tuple(json.loads(row[3]))
        except ValueError:
            suggestions = ()
        return AskedRow(row[0], Status(row[1]), row[2], suggestions, row[4])

    # -- the resident's side ----------------------------------------------------------------

    def add_resident_message(self, ticket: TicketId, text: str, at: dt.datetime) -> int | None:
        """The resident wrote again in their ticket; None when it can no longer take messages
        (closed, or not in this file any more)."""
        moment = utc_text(at)
        with self.db.transaction() as conn:
            row = self._named(conn, ticket)
            if row is None or not row.live:
                return None
            conn.execute(
                "UPDATE tickets SET last_activity = ?, left_at = NULL WHERE number = ?",
                (moment, ticket.number),
            )
            return conn.execute(
                "INSERT INTO ticket_messages (ticket, at, author, text) VALUES (?,?,?,?)",
                (ticket.number, moment, Author.RESIDENT, _clip(text)),
            ).lastrowid

    def leave(self, ticket: TicketId, at: dt.datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE tickets SET left_at = ? WHERE number = ? AND key = ?", (utc_text(at), ticket.number, ticket.key)
            )

    # -- the staff group ---------------------------------------------------------------------

    def unposted(self) -> list[TicketRow]:
        """Tickets not yet in the staff group (oldest first); closed ones are not posted any more."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.room_message IS NULL AND t.status != 'closed'"
                " ORDER BY t.number"
            ).fetchall()
        return [ticket_row(r) for r in rows]

    def posting(self, number: int) -> None:
        """The ticket's card is about to be sent to the staff group."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE tickets SET posting = 1 WHERE number = ?", (number,))

    def posted(self, number: int, chat: int, message: int) -> bool:
        """The ticket's card is in the staff group; True when the resident had been told it was not."""
        with self.db.transaction() as conn:
            told = conn.execute("SELECT told_unposted FROM tickets WHERE number = ?", (number,)).fetchone()
            conn.execute(
                "UPDATE tickets SET room_chat = ?, room_message = ?, post_error = NULL, posting = 0 WHERE number = ?",
                (chat, message, number),
            )
            self._map(conn, chat, message, number)
            return bool(told and told[0])

    def post_failed(self, number: int, error: str) -> bool:
        """Posting the card failed; True the first time, when the resident should be told."""
        with self.db.transaction() as conn:
            told = conn.execute("SELECT told_unposted FROM tickets WHERE number = ?", (number,)).fetchone()
            conn.execute(
                "UPDATE tickets SET post_error = ?, told_unposted = 1, posting = 0 WHERE number = ?",
                (error[:300], number),
            )
            return told is not None and not told[0]

    def unposted_messages(self) -> list[Unposted]:
        """Residents' messages whose ticket is in the staff group but they are not, oldest first."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT m.id, m.ticket, t.key, m.text, t.room_message, m.sending FROM ticket_messages m JOIN tickets t"
                " ON t.number = m.ticket WHERE m.author = ? AND m.room_message IS NULL"
                " AND t.room_message IS NOT NULL AND t.status != 'closed' ORDER BY m.id",
                (Author.RESIDENT,),
            ).fetchall()
        return [Unposted(i, TicketId(n, key), text, card, bool(sending)) for i, n, key, text, card, sending in rows]

    def sending(self, message_id: int) -> None:
        """A message of the ticket (a resident's for staff, a staff reply) is about to be sent."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE ticket_messages SET sending = 1 WHERE id = ?", (message_id,))

    def message_posted(self, message_id: int, chat: int, message: int, number: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE ticket_messages SET room_message = ?, sending = 0 WHERE id = ?", (message, message_id))
            self._map(conn, chat, message, number)

    def map_room_message(self, chat: int, message: int, number: int) -> None:
        """Another of the bot's messages in the staff group belongs to the ticket (a ✅ line)."""
        with self.db.transaction() as conn:
            self._map(conn, chat, message, number)

    def ticket_for_room_message(self, chat: int, message: int) -> TicketId | None:
        """The ticket a message of the bot in the staff group was recorded for."""
        with self.db.transaction(write=False) as conn:
            return self._recorded(conn, chat, message)

    def room_ticket(self, chat: int, message: int, named: TicketId | None) -> TicketId | None:
        """The ticket a message of the bot in the staff group belongs to: the one it was
        recorded for when it was posted, or — a message whose id was never recorded (the bot
        stopped between sending and recording it) — the one it `named` (number and key, as the
        room shows them), if that is a ticket of this file; it is recorded for it from now."""
        with self.db.transaction() as conn:
            recorded = self._recorded(conn, chat, message)
            if recorded is not None:
                return recorded if named is None or named == recorded else None
            if named is None or self._named(conn, named) is None:
                return None
            self._map(conn, chat, message, named.number)
            return named

    # -- staff replies -----------------------------------------------------------------------

    def add_staff_reply(
        self, ticket: TicketId, *, source: str, text: str, staff_name: str, ref: str, at: dt.datetime
    ) -> tuple[PendingReply | None, bool]:
        """Record a staff reply to be relayed: (what to deliver, new). A reply seen before
        (the same update again) is not new; it is returned only if still undelivered. None
        to deliver when the ticket can no longer reach the resident."""
        with self.db.transaction() as conn:
            row = self._named(conn, ticket)
            existing = conn.execute("SELECT id FROM ticket_messages WHERE source = ?", (source,)).fetchone()
            if existing is None:
                if row is None or not row.live:
                    return None, True
                conn.execute(
                    "INSERT INTO ticket_messages (ticket, at, author, text, staff_name, source, ref, pending)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (
                        ticket.number,
                        utc_text(at),
                        Author.STAFF,
                        _clip(text),
                        staff_name,
                        source,
                        ref,
                        text[:MAX_KEPT_CHARS],
                    ),
                )
            pending = self._pending(conn, "m.source = ?", (source,))
            return (pending[0] if pending else None), existing is None

    def pending_replies(self) -> list[PendingReply]:
        """Staff replies recorded but not delivered (a crash, or a delivery to retry), oldest first."""
        with self.db.transaction(write=False) as conn:
            return self._pending(conn, "1", ())

    def reply_delivered(self, reply_id: int, outcome: str, at: dt.datetime) -> TicketRow | None:
        """The reply reached the resident (or their inbox): forget its text as written; the
        ticket is answered, and the resident may write in it again."""
        moment = utc_text(at)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT ticket, staff_name FROM ticket_messages WHERE id = ? AND pending IS NOT NULL", (reply_id,)
            ).fetchone()
            if row is None:
                return None
            number, name = row
            conn.execute(
                "UPDATE ticket_messages SET pending = NULL, delivered_at = ?, outcome = ?, sending = 0 WHERE id = ?",
                (moment, outcome, reply_id),
            )
            conn.execute(
                "UPDATE tickets SET status = CASE WHEN status = 'open' THEN 'answered' ELSE status END,"
                " answered_by = ?, answered_at = ?, last_activity = ?, left_at = NULL WHERE number = ?",
                (name, moment, moment, number),
            )
            return self._find(conn, number)

    def reply_waits(self, reply_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE ticket_messages SET outcome = 'retry', sending = 0 WHERE id = ?", (reply_id,))

    def resident_gone(self, number: int) -> TicketRow | None:
        """A delivery showed the resident cannot be reached (blocked the bot, deleted the chat)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE ticket_messages SET pending = NULL, outcome = 'gone', sending = 0"
                " WHERE ticket = ? AND pending IS NOT NULL",
                (number,),
            )
            conn.execute(
                "UPDATE tickets SET address = NULL, status = ? WHERE number = ? AND status != 'closed'",
                (TicketStatus.UNREACHABLE.value, number),
            )
            return self._find(conn, number)

    def mark_faq(self, ticket: TicketId) -> str | None:
        """Mark the ticket's latest staff reply 加入问答; the name of who wrote it, None if no reply
        yet (or no such ticket)."""
        with self.db.transaction() as conn:
            if self._named(conn, ticket) is None:
                return None
            row = conn.execute(
                "SELECT id, staff_name FROM ticket_messages WHERE ticket = ? AND author = ? ORDER BY id DESC LIMIT 1",
                (ticket.number, Author.STAFF),
            ).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE ticket_messages SET faq = 1 WHERE id = ?", (row[0],))
            return row[1] or ""

    def resolve(self, ticket: TicketId, by: str, at: dt.datetime) -> TicketRow | None:
        """已解决: the resident's address is deleted; the ticket as it was before, None if unknown."""
        with self.db.transaction() as conn:
            before = self._named(conn, ticket)
            if before is None or before.status == TicketStatus.CLOSED:
                return before
            self._close(conn, "number = ?", (ticket.number,), by, at)
            return before

    # -- keeping it small ------------------------------------------------------------------

    def expire(self, before: dt.datetime, at: dt.datetime) -> list[TicketRow]:
        """Close tickets opened before `before` that still hold an address (ticket_days)."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.address IS NOT NULL AND t.opened_at < ?",
                (utc_text(before),),
            ).fetchall()
            self._close(conn, "address IS NOT NULL AND opened_at < ?", (utc_text(before),), "", at)
        return [ticket_row(r) for r in rows]

    def purge(self, before: dt.datetime) -> int:
        """Delete tickets opened before `before` (the log's retention), with all they hold."""
        cutoff = utc_text(before)
        with self.db.transaction() as conn:
            old = "SELECT number FROM tickets WHERE opened_at < ?"
            conn.execute(f"DELETE FROM ticket_messages WHERE ticket IN ({old})", (cutoff,))
            conn.execute(f"DELETE FROM room_messages WHERE ticket IN ({old})", (cutoff,))
            return conn.execute("DELETE FROM tickets WHERE opened_at < ?", (cutoff,)).rowcount

    def health(self) -> DeskHealth:
        with self.db.transaction(write=False) as conn:
            unposted, error = conn.execute(
                "SELECT count(*), max(post_error) FROM tickets"
                " WHERE room_message IS NULL AND status != 'closed' AND post_error IS NOT NULL"
            ).fetchone()
            undelivered = conn.execute(
                "SELECT count(*) FROM ticket_messages WHERE pending IS NOT NULL AND outcome = 'retry'"
            ).fetchone()[0]
        return DeskHealth(unposted, error, undelivered)

    def staff_answers(
        self, since: dt.datetime, until: dt.datetime | None = None, *, unmarked: bool = False
    ) -> list[StaffAnswer]:
        """Per ticket opened in the period, the latest staff reply marked 加入问答; with
        `unmarked`, tickets without one give their latest staff reply (`marked` False)."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT t.number, t.ref, t.question, m.text, m.staff_name, m.at, m.faq FROM ticket_messages m"
                " JOIN tickets t ON t.number = m.ticket WHERE t.opened_at >= ? AND t.opened_at < ?"
                " AND m.id = (SELECT x.id FROM ticket_messages x WHERE x.ticket = t.number AND x.author = 'staff'"
                " AND (x.faq = 1 OR ?) ORDER BY x.faq DESC, x.id DESC LIMIT 1)"
                " ORDER BY t.number",
                (utc_text(since), utc_text(until) if until else "9999", unmarked),
            ).fetchall()
        return [
            StaffAnswer(n, ref, q, a, name or "", from_utc_text(at), bool(faq)) for n, ref, q, a, name, at, faq in rows
        ]

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _find(conn: sqlite3.Connection, number: int) -> TicketRow | None:
        row = conn.execute(f"SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.number = ?", (number,)).fetchone()
        return ticket_row(row) if row else None

    @staticmethod
    def _recorded(conn: sqlite3.Connection, chat: int, message: int) -> TicketId | None:
        found = conn.execute(
            "SELECT t.number, t.key FROM room_messages r JOIN tickets t ON t.number = r.ticket"
            " WHERE r.chat = ? AND r.message = ?",
            (chat, message),
        ).fetchone()
        return TicketId(*found) if found else None

    @staticmethod
    def _named(conn: sqlite3.Connection, ticket: TicketId) -> TicketRow | None:
        row = conn.execute(
            f"SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.number = ? AND t.key = ?", (ticket.number, ticket.key)
        ).fetchone()
        return ticket_row(row) if row else None

    def _get(self, conn: sqlite3.Connection, number: int | None) -> TicketRow:
        row = self._find(conn, number or 0)
        assert row is not None
        return row

    @staticmethod
    def _map(conn: sqlite3.Connection, chat: int, message: int, number: int) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO room_messages (chat, message, ticket) VALUES (?,?,?)", (chat, message, number)
        )

    @staticmethod
    def _pending(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[PendingReply]:
        rows = conn.execute(
            "SELECT m.id, m.ticket, t.channel, t.address, m.pending, m.ref, m.staff_name, m.source, m.sending"
            " FROM ticket_messages m JOIN tickets t ON t.number = m.ticket"
            f" WHERE m.pending IS NOT NULL AND t.address IS NOT NULL AND {where} ORDER BY m.id",
            args,
        ).fetchall()
        return [
            PendingReply(i, n, Channel(ch), addr, text, ref, name, src, bool(sending))
            for i, n, ch, addr, text, ref, name, src, sending in rows
        ]

    @staticmethod
    def _close(conn: sqlite3.Connection, where: str, args: tuple[Any, ...], by: str, at: dt.datetime) -> None:
        numbers = f"SELECT number FROM tickets WHERE {where}"
        conn.execute(f"UPDATE ticket_messages SET pending = NULL WHERE ticket IN ({numbers})", args)
        conn.execute(
            f"UPDATE tickets SET address = NULL, status = ?, closed_by = ?, closed_at = ? WHERE {where}",
            (TicketStatus.CLOSED.value, by, utc_text(at), *args),
        )


__all__ = ["MAX_KEPT_CHARS", "TicketStore"]
