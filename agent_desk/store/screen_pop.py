"""Who is calling: one short read transaction from a caller's number (or a chosen
customer) to everything the customer panel shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.customers import CustomerSummary, ScreenPop
from agent_desk.core.phones import PhoneNumberError, normalise_number
from agent_desk.store.customers import find_by_phone, load_screen_pop


@dataclass(frozen=True)
class PopResult:
    number: str  # as the switch sent it
    e164: str | None  # None: the number could not be understood (withheld, garbage)
    matches: tuple[CustomerSummary, ...]  # 0 unknown caller, 1 popped, more: operator picks
    pop: ScreenPop | None  # the record, when exactly one customer has the number
    problem: str | None = None

    @property
    def unknown(self) -> bool:
        return not self.matches


def screen_pop_for_number(sessions: sessionmaker[Session], number: str) -> PopResult:
    try:
        e164 = normalise_number(number)
    except PhoneNumberError as exc:
        return PopResult(number, None, (), None, str(exc))
    with sessions.begin() as session:
        matches = tuple(find_by_phone(session, e164))
        pop = load_screen_pop(session, matches[0].id) if len(matches) == 1 else None
    return PopResult(number, e164, matches, pop)


def screen_pop_for_customer(
    sessions: sessionmaker[Session], customer_id: int, number: str = ""
) -> PopResult:
    with sessions.begin() as session:
        pop = load_screen_pop(session, customer_id)
    e164 = pop.customer.phones[0] if pop.customer.phones else None
    return PopResult(number or (e164 or ""), e164, (pop.customer,), pop)
