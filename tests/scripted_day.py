"""A scripted day of contacts whose figures were worked out by hand, for every report test.

The day (2026-11-24, Santiago, UTC-3; T = 60 s, N = 5 s):

| id  | service | reason (confirmed) | joined | wait | end               | talk | wrap | exec | est | score |
| c1  | general | licencias          | 09:10  | 20   | completed         | 300  | 60   | A    | 30  | 5 |
| c2  | general | bonos              | 09:40  | 40   | completed         | 200  | 40   | A    | 60  | 4 |
| c3  | general | licencias (ges)    | 10:05  | 90   | completed         | 400  | 20   | B    | 60  | 3 |
| c4  | general | bonos              | 10:20  | 3    | left (short)      |      |      |      |     |   |
| c5  | general | licencias          | 10:30  | 45   | left              |      |      |      |     |   |
| c6  | general | otro               | 10:40  | 120  | dropped           |      |      |      |     |   |
| c7  | especia | ges                | 11:00  | 30   | transferred       | 600  | 100  | B    |     |   |
| c8  | general | ges (from c7)      | 11:10:30 | 60 | completed         | 240  | 60   | A    |     | 5 |
| c9  | general | reclamos           | 11:30  | 205  | executive dropped | 120  | 20   | B    | 120 | 1 |
| c10 | especia | licencias          | 11:50  | 400  | closed            |      |      |      |     |   |
| c11 | general | otro               | 11:55  | -    | still waiting     |      |      |      |     |   |
| c12 | general | bonos              | 11:58  | 10   | still talking     |      |      | A    | 0   |   |
"""

from __future__ import annotations

from branch.core.figures import Summary, Thresholds
from branch.records.base import ContactRecord, EndReason, RecordStore

# Two services, so the service breakdown and filter have something to tell apart.
QUEUES_JSON = (
    '[{"code": "general", "name": "Atención general", "name_en": "General service"},'
    ' {"code": "especialista", "name": "Especialista", "name_en": "Specialist"}]'
)
DAY_TEXT = "2026-11-24"
# 2026-11-24 10:00 in Santiago.
TEN = 1795525200.0
A = ("11.111.111-1", "Eva Díaz")
B = ("12.345.678-5", "Juan Pérez")
T60 = Thresholds(service_level=60, short_abandon=5, timezone="America/Santiago")


def contact(
    contact_id: str,
    joined: float,
    *,
    service: str = "general",
    reason: str = "licencias",
    wait: float | None = None,
    end: EndReason | None = None,
    answered: bool = True,
    talk: float | None = None,
    wrap: float | None = None,
    executive: tuple[str, str] | None = None,
    outcome: str | None = None,
    confirmed: str | None = None,
    estimate: float | None = None,
    score: int | None = None,
    transferred_from: str | None = None,
) -> ContactRecord:
    joined_at = TEN + joined
    answered_at = joined_at + wait if answered and wait is not None else None
    ended_at: float | None = None
    if end is not None and wait is not None:
        ended_at = (answered_at + talk) if answered_at is not None and talk else joined_at + wait
    return ContactRecord(
        contact_id=contact_id,
        folio=f"20261124-{contact_id}",
        service=service,
        citizen_run="44.444.444-4",
        citizen_name="María González",
        reason_code=reason,
        reason_text="",
        joined_at=joined_at,
        offered_at=answered_at,
        answered_at=answered_at,
        ended_at=ended_at,
        wrapped_up_at=None if wrap is None or ended_at is None else ended_at + wrap,
        executive_run=executive[0] if executive else None,
        executive_name=executive[1] if executive else None,
        end_reason=end,
        outcome_code=outcome,
        confirmed_reason_code=confirmed,
        survey_score=score,
        estimated_wait=estimate,
        transferred_from=transferred_from,
    )


DONE = EndReason.COMPLETED
DAY = (
    contact("c1", -3000, wait=20, end=DONE, talk=300, wrap=60, executive=A, outcome="resuelto",
            confirmed="licencias", estimate=30, score=5),
    contact("c2", -1200, reason="bonos", wait=40, end=DONE, talk=200, wrap=40, executive=A,
            outcome="informado", confirmed="bonos", estimate=60, score=4),
    contact("c3", 300, wait=90, end=DONE, talk=400, wrap=20, executive=B, outcome="resuelto",
            confirmed="ges", estimate=60, score=3),
    contact("c4", 1200, reason="bonos", wait=3, end=EndReason.CITIZEN_LEFT, answered=False),
    contact("c5", 1800, wait=45, end=EndReason.CITIZEN_LEFT, answered=False),
    contact("c6", 2400, reason="otro", wait=120, end=EndReason.CITIZEN_DROPPED, answered=False),
    contact("c7", 3600, service="especialista", reason="ges", wait=30,
            end=EndReason.TRANSFERRED, talk=600, wrap=100, executive=B, outcome="derivado",
            confirmed="ges"),
    contact("c8", 4230, reason="ges", wait=60, end=DONE, talk=240, wrap=60, executive=A,
            outcome="resuelto", confirmed="ges", score=5, transferred_from="c7"),
    contact("c9", 5400, reason="reclamos", wait=205, end=EndReason.EXECUTIVE_DROPPED, talk=120,
            wrap=20, executive=B, outcome="interrumpido", confirmed="reclamos", estimate=120,
            score=1),
    contact("c10", 6600, service="especialista", wait=400, end=EndReason.CLOSED, answered=False),
    contact("c11", 6900, reason="otro"),
    contact("c12", 7080, reason="bonos", wait=10, executive=A, estimate=0),
)  # fmt: skip

TOTAL = Summary(
    offered=12,
    answered=7,
    abandoned=2,
    short_abandoned=1,
    closed=1,
    pending=1,
    answered_within=5,  # c1 20, c2 40, c7 30, c8 60 (the threshold counts), c12 10
    service_level=5 / 9,  # the late unanswered: c6 (120 s) and c10 (400 s); c5 left at 45 s
    asa=65.0,  # (20 + 40 + 90 + 30 + 60 + 205 + 10) / 7
    handled=6,  # c12 is still talking
    aht=360.0,
    talk=310.0,  # (300 + 200 + 400 + 600 + 240 + 120) / 6
    wrapup=50.0,  # (60 + 40 + 20 + 100 + 60 + 20) / 6
    abandonment_rate=0.2,  # 2 / (7 answered + 2 abandoned + 1 closed)
    transferred=1,
    transfer_rate=1 / 7,
    estimates=5,  # c1 -10, c2 -20, c3 +30, c9 +85, c12 +10
    estimate_error=31.0,
    estimate_bias=19.0,
    surveyed=5,
    satisfaction=3.6,
    scores=(1, 0, 1, 1, 2),
)


async def load_day(store: RecordStore, records: tuple[ContactRecord, ...] = DAY) -> None:
    """Write the day into a record store step by step, as the branch would."""
    for record in records:
        await store.contact_joined(
            record.contact_id,
            record.service,
            record.citizen_run,
            record.citizen_name,
            record.reason_code,
            record.reason_text,
            record.joined_at,
            estimated_wait=record.estimated_wait,
            transferred_from=record.transferred_from,
        )
        if record.offered_at is not None and record.executive_run and record.executive_name:
            await store.contact_offered(
                record.contact_id, record.executive_run, record.executive_name, record.offered_at
            )
        if record.answered_at is not None:
            await store.contact_answered(record.contact_id, record.answered_at)
        if record.ended_at is not None and record.end_reason is not None:
            await store.contact_ended(record.contact_id, record.end_reason, record.ended_at)
        if record.wrapped_up_at is not None and record.executive_run and record.outcome_code:
            await store.contact_wrapped_up(
                record.contact_id,
                record.executive_run,
                record.outcome_code,
                record.confirmed_reason_code or record.reason_code,
                "",
                record.wrapped_up_at,
            )
        if record.survey_score is not None and record.ended_at is not None:
            await store.contact_surveyed(
                record.contact_id, record.citizen_run, record.survey_score, "", record.ended_at + 90
            )
