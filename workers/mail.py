"""Sending mail: over SMTP with aiosmtplib, or into an outbox folder of ``.eml`` files when no
``SMTP_URL`` is set (the embedded default)."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from server.settings import Settings


class MailError(Exception):
    """The mail was not accepted. ``code`` is the SMTP reply code when the server gave one."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code


class TemporaryMailError(MailError):
    """Worth trying again later: a 4xx reply, a refused or dropped connection, a timeout."""


class PermanentMailError(MailError):
    """Never worth trying again as it is: a 5xx reply (no such mailbox, say)."""


class Mailer(Protocol):
    """Sends one message to the addresses in its ``To`` header.

    Raises TemporaryMailError or PermanentMailError when it is not accepted; returns once it is.
    """

    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers it) or
    ``smtps://…`` (TLS from the start, port 465 by default)."""

    def __init__(self, url: str, *, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:port")
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            # One recipient per digest: its refusal is the answer.
            refused = error.recipients[0]
            raise _by_code(refused.code, f"{refused.code} {refused.message}") from error
        except aiosmtplib.SMTPResponseException as error:
            raise _by_code(error.code, f"{error.code} {error.message}") from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TemporaryMailError(f"could not reach the mail server: {error}") from error


def _by_code(code: int, reason: str) -> MailError:
    return PermanentMailError(reason, code) if code >= 500 else TemporaryMailError(reason, code)


class OutboxMailer:
    """Writes each message to ``<folder>/<Message-ID>.eml``. A resend of one message (same
    Message-ID) replaces its file, as a mail client would thread it as one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(message["Message-ID"]).strip("<>")) + ".eml"
        # Written whole, then renamed: a reader never sees half a message.
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        with os.fdopen(handle, "wb") as file:
            file.write(message.as_bytes())
        os.replace(temporary, self.folder / name)


def build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return OutboxMailer(settings.outbox_dir)
