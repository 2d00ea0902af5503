"""A real arq worker for the tests, built as ``gnrp worker`` builds it, whose mailer can kill
the process at a chosen point of the first digest it sends:

    python -m tests.workers.worker_process die-before-send | die-after-send
"""

from __future__ import annotations

import os
import sys
from email.message import EmailMessage

from server.logs import configure_logging
from server.settings import Settings
from workers.mail import Mailer, build_mailer
from workers.settings import build_worker

DIED = 17  # the exit code of a deliberate death


class DyingMailer:
    def __init__(self, inner: Mailer, point: str) -> None:
        self.inner = inner
        self.point = point

    async def send(self, message: EmailMessage) -> None:
        if self.point == "die-before-send":
            os._exit(DIED)  # as SIGKILL would: no cleanup, no finally, nothing marked
        await self.inner.send(message)
        if self.point == "die-after-send":
            os._exit(DIED)


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    build_worker(settings, mailer=DyingMailer(build_mailer(settings), sys.argv[1])).run()


if __name__ == "__main__":
    main()
