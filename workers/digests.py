"""The digest jobs: ``plan_digests`` (the cron) and ``send_digest`` (one user, one period).

Both are thin ``async def f(ctx, …)`` over the services, so that the arq worker and the
in-process scheduler of the embedded default run exactly the same code. ``ctx`` holds
``services``, ``mailer`` and ``queue`` (a DigestQueue), and arq's ``job_try``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any, Protocol

from arq import Retry
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from server.domain.digest import digest_subject, group_items, unsubscribe_token
from server.domain.notifications import notification_label
from server.services import digests
from server.services.context import Services
from server.services.digests import Claim, DigestContent
from server.services.notifications import notify_ending_initiatives
from workers.mail import Mailer, PermanentMailError, TemporaryMailError

log = logging.getLogger("gnrp.digests")


class DigestQueue(Protocol):
    """Where the cron puts digest jobs: arq's queue, or the web process's own scheduler.

    ``enqueue_digest`` returns False when a job with the same id (``digest:<user>:<period>``)
    is already queued or running, and then adds nothing."""

    async def enqueue_digest(self, user_id: int, period: str) -> bool: ...


def digest_job_id(user_id: int, period: str) -> str:
    return f"digest:{user_id}:{period}"


async def plan_digests(ctx: dict[str, Any]) -> dict[str, int]:
    """The cron: announce measures that are ending, then queue one job per due digest."""
    services: Services = ctx["services"]
    queue: DigestQueue = ctx["queue"]
    ending = await notify_ending_initiatives(services)
    due = await digests.due_digests(services, now=services.clock())
    queued = 0
    for digest in due:
        queued += await queue.enqueue_digest(digest.user_id, digest.period)
    log.info(
        "digests planned",
        extra={"job": ctx.get("job_id"), "due": len(due), "queued": queued, "ending": ending},
    )
    return {"due": len(due), "queued": queued, "ending": ending}


async def send_digest(ctx: dict[str, Any], user_id: int, period: str) -> str:
    """The job: claim, render, send, mark. Safe to run twice: the claim says who sends."""
    return await deliver_digest(
        ctx["services"], ctx["mailer"], user_id=user_id, period=period, attempt=ctx["job_try"]
    )


async def deliver_digest(
    services: Services, mailer: Mailer, *, user_id: int, period: str, attempt: int
) -> str:
    claim = await digests.claim_digest(services, user_id=user_id, period=period)
    if not isinstance(claim, Claim):
        return claim  # "done", "busy" or "off": nothing to send
    if claim.empty:
        return "nothing new"
    content = await digests.digest_content(
        services, user_id=user_id, digest_id=claim.digest_id, now=services.clock()
    )
    if content is None:
        await digests.mark_failed(services, digest_id=claim.digest_id, reason="no such user")
        return "failed"
    if not content.items:  # all it carried is from rooms the user can no longer read
        await digests.mark_empty(services, digest_id=claim.digest_id)
        return "nothing new"
    message = compose_digest(services, content, message_id=claim.message_id)
    settings = services.settings
    try:
        await mailer.send(message)
    except PermanentMailError as error:
        await digests.mark_failed(services, digest_id=claim.digest_id, reason=str(error))
        log.warning(
            "digest refused", extra={"user": user_id, "period": period, "error": str(error)}
        )
        return "failed"
    except TemporaryMailError as error:
        if attempt >= settings.worker_max_tries:
            reason = f"gave up after {attempt} tries: {error}"
            await digests.mark_failed(services, digest_id=claim.digest_id, reason=reason)
            return "failed"
        await digests.release(services, digest_id=claim.digest_id, reason=str(error))
        wait = retry_delay(settings.mail_retry_seconds, attempt)
        log.info("digest deferred", extra={"user": user_id, "period": period, "wait": wait})
        raise Retry(defer=wait) from error
    await digests.mark_sent(services, digest_id=claim.digest_id)
    return "resent" if claim.resumed else "sent"


def retry_delay(base_seconds: int, attempt: int) -> float:
    """Exponential backoff: base, 2 x base, 4 x base …, at most an hour."""
    return float(min(base_seconds * 2 ** (attempt - 1), 3600))


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("workers", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,  # a line holding only a block tag leaves no line behind
        lstrip_blocks=True,
    )


def render_digest(content: DigestContent, *, base_url: str, unsubscribe_url: str) -> RenderedDigest:
    countries, rooms = group_items(content.items)
    subject = digest_subject(content.recipient.cadence, len(content.items), content.ending)
    values = {
        "subject": subject,
        "name": content.recipient.display_name,
        "cadence": content.recipient.cadence,
        "countries": countries,
        "rooms": rooms,
        "ending": content.ending,
        "label": notification_label,
        "base_url": base_url,
        "unsubscribe_url": unsubscribe_url,
    }
    env = _templates()
    return RenderedDigest(
        subject=subject,
        text=env.get_template("digest.txt").render(values),
        html=env.get_template("digest.html").render(values),
    )


def unsubscribe_url(services: Services, user_id: int) -> str:
    settings = services.settings
    return (
        f"{settings.base_url}/unsubscribe?token={unsubscribe_token(settings.secret_key, user_id)}"
    )


def compose_digest(services: Services, content: DigestContent, *, message_id: str) -> EmailMessage:
    """The e-mail: text and HTML, a Message-ID fixed per (user, period), and RFC 8058 one-click
    unsubscribe headers pointing at a signed link that needs no login."""
    settings = services.settings
    link = unsubscribe_url(services, content.recipient.user_id)
    rendered = render_digest(content, base_url=settings.base_url, unsubscribe_url=link)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = content.recipient.email
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(services.clock())
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


async def preview_digest(services: Services, *, user_id: int, now: datetime) -> str | None:
    """The text of the user's next digest, without claiming, sending or marking anything.
    None when there is nothing new to send."""
    content = await digests.digest_content(services, user_id=user_id, digest_id=None, now=now)
    if content is None or not content.items:
        return None
    rendered = render_digest(
        content,
        base_url=services.settings.base_url,
        unsubscribe_url=unsubscribe_url(services, user_id),
    )
    return f"Subject: {rendered.subject}\n\n{rendered.text}"
