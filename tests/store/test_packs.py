from __future__ import annotations

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_desk.core.roles import Role
from agent_desk.store.agents import add_agent
from agent_desk.store.models import ScriptPack
from agent_desk.store.packs import (
    PackStoreError,
    activate_pack,
    active_pack,
    list_packs,
    pack_content,
    publish_pack,
)


def trainer(session: Session) -> int:
    return add_agent(session, "3001", "陈老师", Role.TRAINER).id


def test_publish_activate_and_roll_back(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        who = trainer(session)
        publish_pack(session, "service-etiquette", "1.0.0", "pack: a", "c1", who)
        published = publish_pack(session, "service-etiquette", "1.1.0", "pack: b", "c2", who)
        assert not published.active and published.published_by == "3001"
        assert active_pack(session) is None
        activate_pack(session, "service-etiquette", "1.1.0", who)
    with Session(engine) as session, session.begin():
        current = active_pack(session)
        assert current is not None and (current.version, current.checksum) == ("1.1.0", "c2")
        rolled_back = activate_pack(session, "service-etiquette", "1.0.0", who)  # roll back
        assert rolled_back.active and rolled_back.activated_at is not None
    with Session(engine) as session:
        versions = list_packs(session)
        assert [(v.version, v.active) for v in versions] == [("1.0.0", True), ("1.1.0", False)]
        assert pack_content(session, "service-etiquette", "1.1.0") == "pack: b"


def test_a_version_is_published_once(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        publish_pack(session, "p", "1.0.0", "x", "c1", None)
    with (
        pytest.raises(PackStoreError, match="already published with other content"),
        Session(engine) as session,
        session.begin(),
    ):
        publish_pack(session, "p", "1.0.0", "y", "c2", None)
    with (
        pytest.raises(PackStoreError, match="already published \\(same content\\)"),
        Session(engine) as session,
        session.begin(),
    ):
        publish_pack(session, "p", "1.0.0", "x", "c1", None)
    with Session(engine) as session:
        assert pack_content(session, "p", "1.0.0") == "x"


def test_activating_an_unknown_version_names_the_known_ones(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        publish_pack(session, "p", "1.0.0", "x", "c1", None)
    with (
        pytest.raises(PackStoreError, match=r"no published pack p 9\.9\.9 \(published: 1\.0\.0\)"),
        Session(engine) as session,
        session.begin(),
    ):
        activate_pack(session, "p", "9.9.9", None)


def test_the_database_allows_one_active_pack(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        publish_pack(session, "a", "1", "x", "c1", None)
        publish_pack(session, "b", "1", "y", "c2", None)
        activate_pack(session, "a", "1", None)
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.execute(update(ScriptPack).where(ScriptPack.pack_id == "b").values(active=True))
    with Session(engine) as session, session.begin():
        activate_pack(session, "b", "1", None)  # the proper way switches atomically
        current = active_pack(session)
        assert current is not None and current.pack_id == "b"


def test_a_pack_that_fails_validation_can_never_become_active(engine: Engine) -> None:
    """Even if invalid content reached the table by another road, activation re-validates."""
    from sqlalchemy.orm import sessionmaker

    from agent_desk.core.scripts import PackInvalid
    from agent_desk.store.pack_publishing import activate_version

    with Session(engine) as session, session.begin():
        publish_pack(session, "broken", "1.0.0", "pack: broken\nversion: [not, valid]\n", "c", None)
    with pytest.raises(PackInvalid) as invalid:
        activate_version(sessionmaker(engine), "broken", "1.0.0", None)
    assert invalid.value.problems
    with Session(engine) as session:
        assert active_pack(session) is None
