"""The shared data model (first cut), as typed SQLAlchemy 2 ORM classes.

Only Alembic creates or changes these tables; `metadata.create_all` is never called.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from agent_desk.core.roles import Role

# Stable constraint names on both databases, so later migrations can drop or alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="agent_role",
            native_enum=False,
            length=20,
            values_callable=lambda roles: [r.value for r in roles],
        )
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    language: Mapped[str] = mapped_column(String(16), default="zh", server_default="zh")
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    special_needs: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, server_default=func.now(), onupdate=func.now()
    )

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPhone.position"
    )
    purchases: Mapped[list[Purchase]] = relationship(back_populates="customer")


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20), index=True)  # the screen-pop key
    label: Mapped[str] = mapped_column(String(20), default="mobile", server_default="mobile")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    customer: Mapped[Customer] = relationship(back_populates="phones")
    __table_args__ = (UniqueConstraint("customer_id", "e164"),)


class Purchase(Base):
    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100), default="", server_default="")
    serial: Mapped[str | None] = mapped_column(String(64), index=True)
    purchase_date: Mapped[dt.date | None] = mapped_column(Date)
    warranty_until: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")

    customer: Mapped[Customer] = relationship(back_populates="purchases")
    promises: Mapped[list[Promise]] = relationship(back_populates="purchase")


class Promise(Base):
    """Something the company owes the customer, e.g. "两张金卡" or a callback by a date."""

    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    promised_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    due_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    kept_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    promised_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))

    purchase: Mapped[Purchase | None] = relationship(back_populates="promises")


class CallSession(Base):
    """One call: the unit a team lead replays and scores."""

    __tablename__ = "call_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    number: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    answered_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    wrap_up_code: Mapped[str | None] = mapped_column(String(40))
    wrap_up_defaulted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    recording_ref: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[SessionEvent]] = relationship(
        back_populates="session", order_by="SessionEvent.offset_ms"
    )
    __table_args__ = (Index("ix_call_sessions_customer_started", "customer_id", "started_at"),)


class SessionEvent(Base):
    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"))
    offset_ms: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    session: Mapped[CallSession] = relationship(back_populates="events")
    __table_args__ = (Index("ix_session_events_session_offset", "session_id", "offset_ms"),)


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # No index of its own: the composite indexes below all begin with customer_id.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    customer_wants: Mapped[str] = mapped_column(Text, default="", server_default="")
    promised_reply_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    department: Mapped[str] = mapped_column(String(60), default="", server_default="")
    assignee: Mapped[str] = mapped_column(String(60), default="", server_default="")
    callback_number: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # Indexed by ix_complaints_status_promised, which begins with it.
    status: Mapped[str] = mapped_column(String(20), default="received")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The handler's working notes, and the latest supervisor hand-off (the trail keeps all).
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    escalated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    escalated_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    escalation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id"
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it once)
    __table_args__ = (
        # The screen pop's open complaints and the history's newest-first complaint page.
        Index("ix_complaints_customer_status", "customer_id", "status"),
        Index("ix_complaints_customer_created", "customer_id", "created_at"),
        # Repeat-fault detection: the newest complaints about one product in one category.
        Index("ix_complaints_repeat", "customer_id", "purchase_id", "category", "created_at"),
        # Callbacks due: the team's list, and one operator's own.
        Index("ix_complaints_status_promised", "status", "promised_reply_at"),
        Index("ix_complaints_creator_promised", "created_by_id", "promised_reply_at"),
    )


class ComplaintEvent(Base):
    """Audit trail: who changed what, when and why."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # The complaint's version this change produced: a desk holding version N reads the
    # changes it missed as the events above N (optimistic-lock conflicts).
    version: Mapped[int | None] = mapped_column(Integer)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class ScriptPack(Base):
    __tablename__ = "script_packs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    published_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    activated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    __table_args__ = (
        UniqueConstraint("pack_id", "version"),
        # One pack is what every desk shows: the database itself keeps it to one.
        Index(
            "uq_script_packs_one_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )


class QAEvaluation(Base):
    __tablename__ = "qa_evaluations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    # An edit adds a revision row, it never overwrites the earlier one.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    item_scores: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    comments: Mapped[list[Any]] = mapped_column(Json, default=list)
    total: Mapped[float | None] = mapped_column()
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    # "calibration": a second team lead scoring the call to compare; never the agent's score.
    kind: Mapped[str] = mapped_column(String(20), default="evaluation", server_default="evaluation")
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    __table_args__ = (UniqueConstraint("session_id", "evaluator_id", "revision"),)
