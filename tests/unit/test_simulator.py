"""The training simulator: a CallSource that delivers exactly what the CTI bridge would."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from agent_desk.core.calls import CallFlow, CallState
from agent_desk.telephony.simulator import CallSimulator, SimulatorError, new_call_id
from agent_desk.telephony.source import CallEvent, CallSource

NOON = dt.datetime(2026, 11, 23, 4, 0, 12, tzinfo=dt.UTC)  # 12:00:12 in Beijing


@pytest.fixture
def got() -> list[CallEvent]:
    return []


@pytest.fixture
def simulator(got: list[CallEvent]) -> CallSimulator:
    sim = CallSimulator(agent="1001", clock=lambda: NOON)
    sim.start(got.append)
    return sim


def test_it_is_a_call_source(simulator: CallSimulator) -> None:
    source: CallSource = simulator
    assert source.describe() == "call simulator"
    source.stop()
    assert source.describe() == "call simulator (stopped)"


def test_ring_answer_hang_up(simulator: CallSimulator, got: list[CallEvent]) -> None:
    call_id = simulator.ring("138-0013-8000")
    assert re.fullmatch(r"sim-\d{8}-\d{6}-0001", call_id)
    assert simulator.ring("13800138001").endswith("-0002")
    simulator.answer(call_id)
    simulator.hang_up(call_id)
    assert [(e.event, e.call_id) for e in got] == [
        ("ringing", call_id),
        ("ringing", got[1].call_id),
        ("answered", call_id),
        ("ended", call_id),
    ]
    first = got[0]
    assert (first.ani, first.dnis, first.agent, first.received_at) == (
        "138-0013-8000",
        "4008008000",
        "1001",
        NOON,
    )
    assert got[3].ani == "138-0013-8000"  # the number travels with every event
    assert simulator.open_calls() == [got[1].call_id]


def test_call_ids_are_readable_and_carry_date_and_time() -> None:
    local = NOON.astimezone()
    assert new_call_id("sim", NOON, "0007") == f"sim-{local:%Y%m%d-%H%M%S}-0007"


def test_a_trainer_may_choose_the_call_id(simulator: CallSimulator, got: list[CallEvent]) -> None:
    assert simulator.ring("110", call_id="drill-1") == "drill-1"
    assert got[0].call_id == "drill-1"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["answer"], "unknown call id 'c1'"),
        (["ring", "ring"], "call 'c1' is already ringing"),
        (["ring", "answer", "answer"], "already answered"),
        (["ring", "hang_up", "hang_up"], "has already ended"),
    ],
)
def test_the_same_order_rules_as_the_bridge(
    simulator: CallSimulator, got: list[CallEvent], steps: list[str], message: str
) -> None:
    *done, refused = steps
    actions = {
        "ring": lambda: simulator.ring("110", call_id="c1"),
        "answer": lambda: simulator.answer("c1"),
        "hang_up": lambda: simulator.hang_up("c1"),
    }
    for step in done:
        actions[step]()
    delivered = len(got)
    with pytest.raises(SimulatorError, match=message):
        actions[refused]()
    assert len(got) == delivered


def test_nothing_is_delivered_when_stopped(got: list[CallEvent]) -> None:
    sim = CallSimulator()
    with pytest.raises(SimulatorError, match="not running"):
        sim.ring("110")
    sim.start(got.append)
    sim.stop()
    with pytest.raises(SimulatorError, match="not running"):
        sim.ring("110")
    assert got == []


@pytest.mark.parametrize("call_id", ["", "  ", "x" * 65])
def test_unusable_call_ids_are_refused(simulator: CallSimulator, call_id: str) -> None:
    with pytest.raises(SimulatorError, match="1-64 characters"):
        simulator.ring("110", call_id=call_id)


def test_a_simulated_call_drives_the_call_flow() -> None:
    flow = CallFlow()
    sim = CallSimulator(clock=lambda: NOON)
    sim.start(lambda e: flow.apply_switch_event(e.event, e.call_id, e.ani, at=e.received_at))
    first, second = sim.ring("13800138000"), sim.ring("13900139000")
    sim.answer(first)
    assert flow.active is not None and flow.active.state is CallState.TALKING
    assert [c.call_id for c in flow.queue] == [second]
    sim.hang_up(second)
    assert flow.queue == ()
