"""Sample data for a first look: users, rooms, threads and the 40 measures of 2020 shipped in
server/data/initiatives-sample.csv. Everything is marked as sample data."""

from __future__ import annotations

from importlib import resources

from sqlmodel import select

from server.db.models import User
from server.domain.permissions import Viewer
from server.services import accounts, rooms, threads
from server.services.context import Services
from server.services.importing import check_file, import_rows

SAMPLE = "[Sample] "
DEMO_PASSWORD = "gnrp-demo-password"
MODERATOR_EMAIL = "sample.moderator@gnrp-live.example"

_PEOPLE = [
    (MODERATOR_EMAIL, "Sample Moderator", "sample-moderator", "moderator", None, "international"),
    ("sample.ke@gnrp-live.example", "Sample Regulator (Kenya)", "sample-ke", "regulator", "KE",
     "regulator"),
    ("sample.operator@gnrp-live.example", "Sample Operator", "sample-operator", "member", "GH",
     "operator"),
]  # fmt: skip

_CONVERSATION = [
    ("crisis-desk", "Crisis coordination desk", "resilience", "public",
     "Which traffic-management measures held up during the first lockdown weeks?",
     ["Several regulators let operators prioritise health and education traffic.",
      "We asked streaming platforms to lower default bit rates; peak load fell by a quarter."]),
    ("regulators-lounge", "Regulators' lounge", "relief", "regulators",
     "How long did you extend licence fee deadlines?",
     ["Ninety days here, with a possible extension reviewed monthly."]),
]  # fmt: skip


async def seed_demo(services: Services) -> str:
    """Seed once; a second call changes nothing. Returns what was done, for the command line."""
    async with services.read() as session:
        if (await session.exec(select(User).where(User.email == MODERATOR_EMAIL))).first():
            return "sample data is already there"
    people = {}
    for email, name, handle, role, country, stakeholder in _PEOPLE:
        people[handle] = await accounts.create_user(
            services,
            accounts.NewAccount(
                email=email,
                password=DEMO_PASSWORD,
                display_name=name,
                handle=handle,
                organization="Sample organization",
                stakeholder=stakeholder,  # type: ignore[arg-type]
                country=country,
                role=role,
            ),
        )
    moderator = people["sample-moderator"]
    assert moderator.id is not None
    as_moderator = Viewer(user_id=moderator.id, role="moderator")
    for slug, title, theme, visibility, question, answers in _CONVERSATION:
        await rooms.create_room(
            services, viewer=as_moderator, slug=slug, title=SAMPLE + title,
            description="Sample data for a first look at GNRP Live.", theme=theme,
            visibility=visibility,
        )  # fmt: skip
        thread, _ = await threads.create_thread(
            services, viewer=as_moderator, slug=slug, title=SAMPLE + question, body=question,
            kind="question", countries=[],
        )  # fmt: skip
        regulator = people["sample-ke"]
        assert regulator.id is not None
        for answer in answers:
            await threads.post_message(
                services,
                viewer=Viewer(user_id=regulator.id, role="regulator"),
                thread_id=thread["id"],
                body=answer,
                client_id=None,
            )
    raw = resources.files("server.data").joinpath("initiatives-sample.csv").read_bytes()
    checked = check_file(raw, title_prefix=SAMPLE)
    if checked.problems:
        raise RuntimeError(f"the shipped sample data does not import: {checked.problems[0]}")
    count = await import_rows(services, rows=checked.rows, email=MODERATOR_EMAIL)
    return (
        f"seeded {len(_PEOPLE)} sample accounts (password {DEMO_PASSWORD!r}, e.g. "
        f"{MODERATOR_EMAIL}), {len(_CONVERSATION)} rooms and {count} sample measures"
    )
