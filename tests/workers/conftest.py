"""A real SMTP server for the digest tests (aiosmtpd), which can defer or refuse recipients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.live.servers import free_port


class Sink:
    """Accepts mail and keeps it. ``refuse`` maps an address to the reply refusing it for good;
    ``defer`` is how many recipients in a row get a 451 before the server accepts again."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.defer = 0
        self.deferred = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        if self.defer > 0:
            self.defer -= 1
            self.deferred += 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count: int, deadline: float = 30) -> list[EmailMessage]:
        end = time.monotonic() + deadline
        while len(self.messages) < count:
            if time.monotonic() > end:
                raise TimeoutError(f"{count} messages expected, {len(self.messages)} arrived")
            time.sleep(0.05)
        return list(self.messages)


class SmtpServer:
    def __init__(self, sink: Sink, port: int) -> None:
        self.sink = sink
        self.port = port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(sink, port)
    finally:
        controller.stop()
