"""`sessionReplay`: team leads replay a session — the recording and everything that happened
on screen, in time — and score it against the pack's QA checklist. Operators open it too,
to see and acknowledge their own evaluations (never anyone else's)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.audio.peaks import Peaks, load_or_compute_peaks
from agent_desk.audio.recordings import recording_path
from agent_desk.core.qa import Comment, Evaluation, auto_score, compare_evaluations
from agent_desk.core.roles import AgentIdentity, Capability
from agent_desk.core.scripts import ScriptPack
from agent_desk.core.session_report import render_report
from agent_desk.core.timeline import Timeline, build_timeline, format_offset, session_link
from agent_desk.store import qa as qa_store
from agent_desk.store.agents import find_agent
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.waveform_view import WaveformView

log = logging.getLogger(__name__)
SPEEDS = (0.75, 1.0, 1.25, 1.5, 2.0)
RESULTS = (("", "—"), ("pass", "✓ pass 合格"), ("fail", "✗ fail 不合格"), ("na", "N/A 不适用"))
TICK_MS = 100
SESSION_ID = Qt.ItemDataRole.UserRole


class SessionReplay(QWidget):
    evaluationSaved = Signal(int)  # revision

    def __init__(
        self,
        sessions: sessionmaker[Session],
        who: AgentIdentity,
        recordings_root: Path,
        cache_dir: Path,
        pack: ScriptPack | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("sessionReplay")
        self.setAccessibleName("sessionReplay")
        self.setWindowTitle(self.tr("Session replay · 录音回放与质检"))
        self.resize(1300, 820)
        self.sessions, self.who, self.pack = sessions, who, pack
        self.recordings_root, self.cache_dir = recordings_root, cache_dir
        self.lead = who.can(Capability.REPLAY_SESSIONS)
        self.replay: qa_store.ReplaySession | None = None
        self.timeline = Timeline(())
        self.evaluation: Evaluation | None = None
        self.records: list[qa_store.EvaluationRecord] = []
        self.position_ms = 0  # in the session's time (since the first ring)
        self.player: Any = None
        self._clock = QTimer(self)  # a session without audio replays its timeline alone
        self._clock.setInterval(TICK_MS)
        self._clock.timeout.connect(self._tick)

        # -- the list of sessions
        self.filter_customer = QLineEdit(self)
        self.filter_customer.setPlaceholderText(self.tr("Customer 客户"))
        self.filter_agent = QLineEdit(self)
        self.filter_agent.setObjectName("replayFilterAgent")
        self.filter_agent.setPlaceholderText(self.tr("Agent number 工号"))
        self.filter_code = QLineEdit(self)
        self.filter_code.setPlaceholderText(self.tr("Wrap-up code 小结"))
        self.filter_complaint = QCheckBox(self.tr("Complaint raised 有投诉"), self)
        self.filter_qa = QComboBox(self)
        for code, label in (
            (None, self.tr("Any QA status")),
            ("not_scored", "not scored 未评"),
            ("scored", "scored 已评"),
            ("acknowledged", "acknowledged 已确认"),
        ):
            self.filter_qa.addItem(label, code)
        self.filter_days = QComboBox(self)
        for days, label in ((1, "today 今天"), (7, "7 days"), (30, "30 days"), (3650, "all 全部")):
            self.filter_days.addItem(label, days)
        self.filter_days.setCurrentIndex(2)
        self.list = QTableWidget(0, 5, self)
        self.list.setObjectName("sessionList")
        self.list.setHorizontalHeaderLabels(
            [
                self.tr("Started"),
                self.tr("Agent"),
                self.tr("Customer"),
                self.tr("Wrap-up"),
                self.tr("QA"),
            ]
        )
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.verticalHeader().hide()

        # -- the session
        self.header = QLabel(self.tr("Choose a session · 请选择通话"), self)
        self.header.setObjectName("replayHeader")
        self.header.setWordWrap(True)
        self.waveform = WaveformView(self)
        self.play = QPushButton(self.tr("Play 播放 (Space)"), self)
        self.play.setObjectName("replayPlay")
        self.speed = QComboBox(self)
        self.speed.setObjectName("replaySpeed")
        for factor in SPEEDS:
            self.speed.addItem(f"{factor}×", factor)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.clock = QLabel("00:00", self)
        self.clock.setObjectName("replayClock")
        self.copy_link = QPushButton(self.tr("Copy link 复制链接"), self)
        self.export = QPushButton(self.tr("Export report 导出报告…"), self)
        self.events = QListWidget(self)
        self.events.setObjectName("eventTimeline")
        self.events.setAccessibleName("eventTimeline")
        self.scorecard = QTableWidget(0, 5, self)
        self.scorecard.setObjectName("qaScorecard")
        self.scorecard.setAccessibleName("qaScorecard")
        self.scorecard.setHorizontalHeaderLabels(
            [
                self.tr("Item 项目"),
                self.tr("Weight 权重"),
                self.tr("Auto 自动"),
                self.tr("Result 结果"),
                self.tr("Comment 备注"),
            ]
        )
        self.scorecard.verticalHeader().hide()
        self.total = QLabel(self)
        self.total.setObjectName("qaTotal")
        self.comment = QLineEdit(self)
        self.comment.setObjectName("qaComment")
        self.comment.setPlaceholderText(self.tr("Comment at the play head 在当前位置批注…"))
        self.save = QPushButton(self.tr("&Save evaluation 保存评分"), self)
        self.save.setObjectName("qaSave")
        self.acknowledge = QPushButton(self.tr("&Acknowledge 确认已阅"), self)
        self.acknowledge.setObjectName("qaAcknowledge")
        self.calibration = QListWidget(self)
        self.calibration.setObjectName("qaCalibration")

        self._layout()
        self._connect()
        self.refresh_list()

    def _layout(self) -> None:
        filters = QVBoxLayout()
        for widget in (
            self.filter_days,
            self.filter_agent,
            self.filter_customer,
            self.filter_code,
            self.filter_complaint,
            self.filter_qa,
        ):
            filters.addWidget(widget)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.list, 1)
        transport = QHBoxLayout()
        for widget in (self.play, self.speed, self.clock):
            transport.addWidget(widget)
        transport.addStretch(1)
        transport.addWidget(self.copy_link)
        transport.addWidget(self.export)
        qa = QWidget(self)
        qa_layout = QVBoxLayout(qa)
        qa_layout.addWidget(self.scorecard, 1)
        qa_layout.addWidget(self.total)
        row = QHBoxLayout()
        row.addWidget(self.comment, 1)
        row.addWidget(self.save)
        row.addWidget(self.acknowledge)
        qa_layout.addLayout(row)
        qa_layout.addWidget(QLabel(self.tr("Calibration 校准 (where evaluators differ)"), self))
        qa_layout.addWidget(self.calibration)
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.events)
        lower.addWidget(qa)
        lower.setSizes([380, 560])
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.header)
        right_layout.addWidget(self.waveform)
        right_layout.addLayout(transport)
        right_layout.addWidget(lower, 1)
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.addWidget(left)
        body.addWidget(right)
        body.setSizes([330, 970])
        layout = QVBoxLayout(self)
        layout.addWidget(body)
        self.save.setVisible(self.lead)
        self.comment.setVisible(self.lead)
        self.acknowledge.setVisible(not self.lead)

    def _connect(self) -> None:
        for signal in (self.filter_days.activated, self.filter_qa.activated):
            signal.connect(lambda _i: self.refresh_list())
        self.filter_complaint.toggled.connect(lambda _b: self.refresh_list())
        self.filter_agent.setVisible(self.lead)  # operators only ever see their own calls
        for box in (self.filter_agent, self.filter_customer, self.filter_code):
            box.returnPressed.connect(self.refresh_list)
        self.list.cellActivated.connect(lambda row, _c: self._open_row(row))
        self.list.cellClicked.connect(lambda row, _c: self._open_row(row))
        self.play.clicked.connect(self.toggle_play)
        self.speed.activated.connect(lambda _i: self._apply_speed())
        self.waveform.seekRequested.connect(lambda ms: self.seek(ms + self._audio_offset()))
        self.events.itemActivated.connect(self._event_chosen)
        self.events.itemClicked.connect(self._event_chosen)
        self.copy_link.clicked.connect(self._copy_link)
        self.export.clicked.connect(self._export)
        self.save.clicked.connect(self.save_evaluation)
        self.acknowledge.clicked.connect(self.acknowledge_latest)
        self.comment.returnPressed.connect(self.add_comment)
        self.scorecard.cellClicked.connect(self._evidence_clicked)
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.activated.connect(self.toggle_play)
        for key, step in ((Qt.Key.Key_BracketLeft, -1), (Qt.Key.Key_BracketRight, 1)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.activated.connect(lambda s=step: self._step_speed(s))

    # -- the session list --------------------------------------------------------------------

    def filters(self) -> qa_store.SessionFilters:
        days = int(self.filter_days.currentData())
        return qa_store.SessionFilters(
            agent_id=None if self.lead else self.who.agent_id,
            started_from=dt.datetime.now(dt.UTC) - dt.timedelta(days=days),
            customer=self.filter_customer.text().strip(),
            wrap_up_code=self.filter_code.text().strip() or None,
            complaint_raised=True if self.filter_complaint.isChecked() else None,
            qa_status=self.filter_qa.currentData(),
        )

    def refresh_list(self) -> None:
        sessions, filters = self.sessions, self.filters()

        agent_no = self.filter_agent.text().strip() if self.lead else ""

        def load() -> qa_store.SessionPage:
            with sessions.begin() as session:
                if agent_no:
                    agent = find_agent(session, agent_no)
                    if agent is None:
                        return qa_store.SessionPage((), None)
                    return qa_store.session_list(session, replace(filters, agent_id=agent.id))
                return qa_store.session_list(session, filters)

        BackgroundOp(self, load, self._show_list, lambda exc: self.header.setText(str(exc))).start()

    def _show_list(self, page: qa_store.SessionPage) -> None:
        self.list.setRowCount(len(page.rows))
        for row, s in enumerate(page.rows):
            cells = [
                s.started_at.astimezone().strftime("%m-%d %H:%M"),
                f"{s.agent_no} {s.agent_name}",
                s.customer_name or s.number,
                s.wrap_up_code or "—",
                s.qa_status,
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(SESSION_ID, s.id)
                self.list.setItem(row, column, item)
        self.list.resizeColumnsToContents()

    def _open_row(self, row: int) -> None:
        item = self.list.item(row, 0)
        if item is not None:
            self.open_session(int(item.data(SESSION_ID)))

    # -- one session ---------------------------------------------------------------------------

    def open_session(self, session_id: int, at_ms: int | None = None) -> None:
        """Load the session (and its recording's peaks) off the GUI thread; `at_ms` is an
        audio position to start from (a shared link)."""
        sessions, root, cache = self.sessions, self.recordings_root, self.cache_dir

        def load() -> tuple[qa_store.ReplaySession, Peaks | None, str, list[Any]]:
            with sessions.begin() as session:
                replay = qa_store.load_session_for_replay(session, session_id)
                records = list(
                    qa_store.evaluations_visible_to(
                        session, self.who.agent_id or 0, self.who.role, session_id
                    )
                )
            peaks, problem = None, ""
            if replay.recording_ref:
                try:
                    peaks = load_or_compute_peaks(
                        recording_path(root, replay.recording_ref),
                        cache,
                        checksum=replay.recording_checksum,
                    )
                except Exception as exc:  # the timeline still replays; say why no audio
                    problem = str(exc)
            return replay, peaks, problem, records

        BackgroundOp(
            self,
            load,
            lambda loaded: self._show_session(loaded, at_ms),
            lambda exc: self.header.setText(str(exc)),
        ).start()

    def _show_session(
        self, loaded: tuple[Any, Peaks | None, str, list[Any]], at_ms: int | None
    ) -> None:
        replay, peaks, problem, records = loaded
        self.stop()
        self.replay, self.records = replay, records
        audio = (
            f" · {self.tr('recording')} {format_offset(peaks.duration_ms)}"
            if peaks
            else f" · {self.tr('no recording 无录音')} {problem}".rstrip()
        )
        self.header.setText(
            f"{replay.call_id} · {replay.started_at.astimezone():%Y-%m-%d %H:%M} · "
            f"{replay.agent_no} {replay.agent_name} · {replay.customer_name or replay.number}"
            f" · {replay.wrap_up_code or '—'}{audio}"
        )
        events_end = max((e.offset_ms for e in replay.events), default=0)
        self.waveform.set_peaks(peaks, peaks.duration_ms if peaks else max(events_end, 1))
        # Positions in this window are session time (since the first ring); the timeline
        # knows where the recording starts in it.
        self.timeline = build_timeline(
            replay.events, pack=self.pack, audio_offset_ms=self._audio_offset()
        )
        self.waveform.set_ticks([e.offset_ms - self._audio_offset() for e in self.timeline])
        self.events.clear()
        for event in self.timeline:
            text = f"{format_offset(event.offset_ms)}  {event.label}"
            if event.detail:
                text += f" — {event.detail}"
            self.events.addItem(QListWidgetItem(text))
        self._prepare_player(peaks)
        self._start_evaluation()
        start = self._audio_offset() + (at_ms or 0)
        self.seek(start)

    def _audio_offset(self) -> int:
        return self.replay.audio_offset_ms if self.replay and self.waveform.peaks else 0

    # -- playing -----------------------------------------------------------------------------

    def _prepare_player(self, peaks: Peaks | None) -> None:
        self.player = None
        if peaks is None or self.replay is None or not self.replay.recording_ref:
            return
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
        except ImportError:
            return
        if not QMediaDevices.audioOutputs():
            return  # no speaker on this machine: the clock plays the timeline silently
        player = QMediaPlayer(self)
        output = QAudioOutput(self)
        player.setAudioOutput(output)
        player.setSource(
            QUrl.fromLocalFile(str(recording_path(self.recordings_root, self.replay.recording_ref)))
        )
        player.positionChanged.connect(lambda ms: self._moved(ms + self._audio_offset()))
        self.player = player

    def toggle_play(self) -> None:
        if self.replay is None:
            return
        playing = self._clock.isActive() or (self.player is not None and self.player.isPlaying())
        if playing:
            self.stop()
            return
        self._apply_speed()
        if self.player is not None:
            self.player.play()
        else:
            self._clock.start()
        self.play.setText(self.tr("Pause 暂停 (Space)"))

    def stop(self) -> None:
        self._clock.stop()
        if self.player is not None:
            self.player.pause()
        self.play.setText(self.tr("Play 播放 (Space)"))

    def seek(self, session_ms: int) -> None:
        session_ms = max(0, session_ms)
        if self.player is not None:
            self.player.setPosition(max(0, session_ms - self._audio_offset()))
        self._moved(session_ms)

    def _tick(self) -> None:
        step = int(TICK_MS * float(self.speed.currentData()))
        end = max(self.timeline.end_ms, self._audio_offset() + self.waveform.duration_ms)
        if self.position_ms >= end:
            self.stop()
            return
        self._moved(self.position_ms + step)

    def _moved(self, session_ms: int) -> None:
        """The play head moved: waveform, clock and the current event follow."""
        self.position_ms = session_ms
        self.waveform.set_position(session_ms - self._audio_offset())
        self.clock.setText(format_offset(session_ms))
        if len(self.timeline):
            index = self.timeline.at(session_ms - self.timeline.audio_offset_ms)
            if index >= 0 and index != self.events.currentRow():
                self.events.setCurrentRow(index)

    def _apply_speed(self) -> None:
        if self.player is not None:
            self.player.setPlaybackRate(float(self.speed.currentData()))

    def _step_speed(self, step: int) -> None:
        index = min(max(self.speed.currentIndex() + step, 0), len(SPEEDS) - 1)
        self.speed.setCurrentIndex(index)
        self._apply_speed()

    def _event_chosen(self, item: QListWidgetItem) -> None:
        index = self.events.row(item)
        if 0 <= index < len(self.timeline):
            self.seek(self.timeline[index].offset_ms)

    def current_link(self) -> str:
        if self.replay is None:
            return ""
        return session_link(self.replay.id, max(0, self.position_ms - self._audio_offset()))

    def _copy_link(self) -> None:
        QGuiApplication.clipboard().setText(self.current_link())

    # -- scoring -----------------------------------------------------------------------------

    def _start_evaluation(self) -> None:
        replay, pack = self.replay, self.pack
        mine = [r for r in self.records if r.evaluator_id == self.who.agent_id]
        if mine:
            self.evaluation = max(mine, key=lambda r: r.revision).evaluation
        elif replay is not None and pack is not None and self.lead:
            autos = auto_score(
                pack.qa_checklist, list(self.timeline), replay.notes, replay.complaint_raised
            )
            self.evaluation = Evaluation.start(
                pack.qa_checklist, autos, pack=f"{pack.pack_id}@{pack.version}"
            )
        elif self.records:
            self.evaluation = max(self.records, key=lambda r: r.revision).evaluation
        else:
            self.evaluation = None
        self._show_evaluation()
        self._show_calibration()

    def _show_evaluation(self) -> None:
        evaluation = self.evaluation
        self.scorecard.setRowCount(0 if evaluation is None else len(evaluation.items))
        if evaluation is None:
            self.total.setText(self.tr("No scorecard yet 暂无评分"))
            return
        for row, (item, score) in enumerate(zip(evaluation.items, evaluation.scores, strict=True)):
            title = f"{'★ ' if item.critical else ''}{item.title.zh} · {item.title.en or ''}"
            auto = "" if score.auto is None else f"{score.auto} {score.evidence_text}"
            for column, text in enumerate((title, f"{item.weight:g}", auto)):
                cell = QTableWidgetItem(text)
                cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.scorecard.setItem(row, column, cell)
            combo = QComboBox(self.scorecard)
            for code, label in RESULTS:
                combo.addItem(label, code)
            combo.setCurrentIndex(max(0, combo.findData(score.result or "")))
            combo.setEnabled(self.lead)
            combo.activated.connect(
                lambda _i, item_id=item.id, c=combo: self._override(item_id, c.currentData())
            )
            self.scorecard.setCellWidget(row, 3, combo)
            self.scorecard.setItem(row, 4, QTableWidgetItem(score.comment))
        # The item's title wraps; weight, pre-score and result must stay in view.
        header = self.scorecard.horizontalHeader()
        for column in range(1, self.scorecard.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for column, width in ((0, 240), (1, 56), (2, 170)):  # title, weight, pre-score
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.scorecard.setColumnWidth(column, width)
        self.scorecard.setWordWrap(True)
        self.scorecard.resizeRowsToContents()
        total = evaluation.total_percent
        failed = evaluation.failed_critical
        self.total.setText(
            (
                self.tr("Total 总分: {0}%").format(total)
                if total is not None
                else self.tr("Total: n/a")
            )
            + (
                self.tr(" — critical item failed 关键项不合格: {0}").format(", ".join(failed))
                if failed
                else ""
            )
        )

    def _override(self, item_id: str, result: str) -> None:
        if self.evaluation is not None:
            self.evaluation = self.evaluation.with_result(item_id, result or None)  # type: ignore[arg-type]
            self._show_evaluation()

    def _evidence_clicked(self, row: int, column: int) -> None:
        if self.evaluation is None or column != 2:
            return
        offset = self.evaluation.scores[row].evidence_offset_ms
        if offset is not None:
            self.seek(offset)

    def add_comment(self) -> None:
        text = self.comment.text().strip()
        if not text or self.evaluation is None:
            return
        self.evaluation = self.evaluation.with_comment(
            Comment(self.position_ms, text, f"{self.who.agent_no} {self.who.name}")
        )
        self.comment.clear()
        self.events.addItem(f"{format_offset(self.position_ms)}  ✎ {text}")

    def save_evaluation(self) -> None:
        replay, evaluation, sessions = self.replay, self.evaluation, self.sessions
        if replay is None or evaluation is None or self.who.agent_id is None:
            return
        evaluator = self.who.agent_id

        def run() -> Any:
            with sessions.begin() as session:
                saved = qa_store.save_evaluation(session, replay.id, evaluator, evaluation)
                records = list(
                    qa_store.evaluations_visible_to(session, evaluator, self.who.role, replay.id)
                )
            return saved, records

        def done(result: Any) -> None:
            saved, self.records = result
            self.total.setText(
                self.total.text() + self.tr("  · saved as revision {0}").format(saved.revision)
            )
            self._show_calibration()
            self.evaluationSaved.emit(saved.revision)

        BackgroundOp(self, run, done, lambda exc: self.total.setText(str(exc))).start()

    def _show_calibration(self) -> None:
        self.calibration.clear()
        latest: dict[int, Any] = {}
        for record in self.records:
            if (
                record.evaluator_id not in latest
                or record.revision > latest[record.evaluator_id].revision
            ):
                latest[record.evaluator_id] = record
        mine = latest.get(self.who.agent_id or -1)
        for evaluator_id, other in latest.items():
            if mine is None or evaluator_id == mine.evaluator_id:
                continue
            differences = compare_evaluations(mine.evaluation, other.evaluation)
            self.calibration.addItem(
                self.tr("vs {0} {1}: {2} difference(s)").format(
                    other.evaluator_no, other.evaluator_name, len(differences)
                )
            )
            for d in differences:
                self.calibration.addItem(f"   {d.title or d.item_id}: {d.a_result} ≠ {d.b_result}")

    def acknowledge_latest(self) -> None:
        records, sessions = self.records, self.sessions
        if not records or self.who.agent_id is None:
            return
        latest = max(records, key=lambda r: (r.created_at, r.revision))
        operator = self.who.agent_id

        def run() -> Any:
            with sessions.begin() as session:
                return qa_store.acknowledge(session, latest.id, operator)

        BackgroundOp(
            self,
            run,
            lambda _r: self.total.setText(self.tr("Acknowledged 已确认")),
            lambda exc: self.total.setText(str(exc)),
        ).start()

    # -- export --------------------------------------------------------------------------------

    def report_html(self) -> str:
        if self.replay is None:
            return ""
        r = self.replay
        facts = {
            "Call · 通话": r.call_id,
            "Started · 开始": f"{r.started_at.astimezone():%Y-%m-%d %H:%M:%S}",
            "Agent · 坐席": f"{r.agent_no} {r.agent_name}",
            "Customer · 客户": r.customer_name or r.number,
            "Wrap-up · 小结": r.wrap_up_code or "—",
            "Notes · 记录": r.notes or "—",
            "Link · 链接": session_link(r.id),
        }
        return render_report(facts, self.timeline, self.evaluation)

    def _export(self) -> None:
        if self.replay is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Export session report"),
            f"session-{self.replay.call_id}.html",
            self.tr("HTML report (*.html)"),
        )
        if name:
            Path(name).write_text(self.report_html(), encoding="utf-8")
