"""The caller's record: who they are, what they own, what is open, what happened before.

Shows a `ScreenPop` from core; history pages in lazily through `PagedListModel`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListView,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core.customers import (
    HistoryCursor,
    HistoryItem,
    HistoryPage,
    OpenComplaint,
    ProductLine,
    PromiseLine,
    ScreenPop,
)
from agent_desk.core.phones import display_number
from agent_desk.ui.paged_model import PagedListModel

TAG_LABELS = {
    "VIP": "VIP 贵宾",
    "elderly": "老年 Elderly",
    "special_needs": "特殊需求 Special needs",
}
WARRANTY_LABELS = {
    "in_warranty": ("保修期内 In warranty", "#15803d"),
    "expiring": ("即将过保 Expiring", "#b45309"),
    "expired": ("已过保 Out of warranty", "#b91c1c"),
    "unknown": ("保修未知 Unknown", "#6b7280"),
}
HISTORY_ICONS = {"session": "☎", "complaint": "⚠", "note": "✎"}
OVERDUE = QColor("#b91c1c")

HistoryFetcher = Callable[[HistoryCursor | None], HistoryPage]


def local(moment: dt.datetime | None, with_time: bool = True) -> str:
    if moment is None:
        return "—"
    moment = moment.astimezone() if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def promise_text(promise: PromiseLine) -> str:
    due = f" (by {local(promise.due_at)})" if promise.due_at else ""
    state = " ✓" if promise.kept else (" — OVERDUE 已逾期" if promise.overdue else "")
    return f"{promise.text}{due}{state}"


class CustomerRecord(QWidget):
    historyPainted = Signal()  # the history list has been painted since the last show()
    complaintActivated = Signal(int)  # complaint id: open it (workflow, audit trail)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customerRecord")
        self.name = QLabel(self)
        self.name.setObjectName("customerName")
        self.name.setAccessibleName("customerName")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tags = QLabel(self)
        self.tags.setObjectName("customerTags")
        self.details = QLabel(self)
        self.details.setObjectName("customerDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.products_model = QStandardItemModel(0, 5, self)
        self.products_model.setHorizontalHeaderLabels(
            [
                self.tr("Product 产品"),
                self.tr("Model 型号"),
                self.tr("Serial 序列号"),
                self.tr("Bought 购买"),
                self.tr("Warranty 保修"),
            ]
        )
        self.products = self._tree("customerProducts", self.products_model)
        self.complaints_model = QStandardItemModel(0, 4, self)
        self.complaints_model.setHorizontalHeaderLabels(
            [
                self.tr("Complaint 投诉"),
                self.tr("Category 类别"),
                self.tr("Status 状态"),
                self.tr("Reply by 承诺回复"),
            ]
        )
        self.complaints = self._tree("openComplaints", self.complaints_model)

        self.history_model: PagedListModel[HistoryItem, HistoryCursor] = PagedListModel(
            self._history_line, lambda item: item.detail, self
        )
        self.history = QListView(self)
        self.history.setObjectName("historyView")
        self.history.setAccessibleName("historyView")
        self.history.setModel(self.history_model)
        self.history.setUniformItemSizes(True)
        self.history.setWordWrap(False)
        self.history.viewport().installEventFilter(self)
        self.complaints.activated.connect(self._complaint_activated)
        self.complaints.doubleClicked.connect(self._complaint_activated)
        self._watch_paint = False

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        for title, widget in (
            (self.tr("Products and promises · 产品与承诺"), self.products),
            (self.tr("Open complaints · 未结投诉"), self.complaints),
            (self.tr("History · 历史记录"), self.history),
        ):
            box = QWidget(splitter)
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(0, 4, 0, 0)
            heading = QLabel(title, box)
            heading.setProperty("sectionHeading", True)
            box_layout.addWidget(heading)
            box_layout.addWidget(widget)
            splitter.addWidget(box)
        splitter.setSizes([160, 110, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.name)
        layout.addWidget(self.tags)
        layout.addWidget(self.details)
        layout.addWidget(splitter, 1)

    def _tree(self, name: str, model: QStandardItemModel) -> QTreeView:
        view = QTreeView(self)
        view.setObjectName(name)
        view.setAccessibleName(name)
        view.setModel(model)
        view.setRootIsDecorated(True)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setAlternatingRowColors(True)
        view.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        return view

    # -- filling ----------------------------------------------------------------------------

    def show_pop(self, pop: ScreenPop, fetch_history: HistoryFetcher) -> None:
        customer = pop.customer
        self.name.setText(customer.name)
        chips = [TAG_LABELS.get(tag, tag) for tag in customer.tags]
        self.tags.setText("  ".join(f"【{html.escape(c)}】" for c in chips))
        self.tags.setVisible(bool(chips))
        phones = ", ".join(display_number(p) for p in customer.phones) or "—"
        lines = [f"☎ {html.escape(phones)}", f"⌂ {html.escape(customer.address or '—')}"]
        if pop.special_needs:
            lines.append(
                f"<span style='background:#fef3c7'>⚑ {html.escape(pop.special_needs)}</span>"
            )
        if pop.language and pop.language != "zh":
            lines.append(self.tr("Language 语言: {0}").format(html.escape(pop.language)))
        self.details.setText("<br>".join(lines))
        self._fill_products(pop.products, pop.promises)
        self._fill_complaints(pop.open_complaints)
        self._watch_paint = True
        self.history_model.reset(
            fetch_history, pop.history.items, pop.history.next_cursor, pop.history.has_more
        )
        self.history.scrollToTop()

    def _fill_products(
        self, products: tuple[ProductLine, ...], loose: tuple[PromiseLine, ...]
    ) -> None:
        model = self.products_model
        model.removeRows(0, model.rowCount())
        for product in products:
            label, colour = WARRANTY_LABELS[product.warranty]
            until = f" → {product.warranty_until:%Y-%m-%d}" if product.warranty_until else ""
            warranty = QStandardItem(label + until)
            warranty.setForeground(QBrush(QColor(colour)))
            row = [
                QStandardItem(product.product),
                QStandardItem(product.model),
                QStandardItem(product.serial or ""),
                QStandardItem(
                    f"{product.purchase_date:%Y-%m-%d}" if product.purchase_date else "—"
                ),
                warranty,
            ]
            for promise in product.promises:
                row[0].appendRow(self._promise_item(promise))
            model.appendRow(row)
        for promise in loose:
            model.appendRow(self._promise_item(promise))
        self.products.expandAll()

    def _promise_item(self, promise: PromiseLine) -> QStandardItem:
        item = QStandardItem("⚐ " + self.tr("Promise 承诺: ") + promise_text(promise))
        if promise.overdue and not promise.kept:
            item.setForeground(QBrush(OVERDUE))
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        return item

    def _fill_complaints(self, complaints: tuple[OpenComplaint, ...]) -> None:
        model = self.complaints_model
        model.removeRows(0, model.rowCount())
        for complaint in complaints:
            due = local(complaint.promised_reply_at)
            if complaint.overdue:
                due += " — OVERDUE 已逾期"
            reference = QStandardItem(complaint.reference)
            reference.setData(complaint.id, Qt.ItemDataRole.UserRole)
            row = [
                reference,
                QStandardItem(complaint.category),
                QStandardItem(complaint.status),
                QStandardItem(due),
            ]
            if complaint.overdue:
                for item in row:
                    item.setForeground(QBrush(OVERDUE))
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
            model.appendRow(row)

    def _complaint_activated(self, index: QModelIndex) -> None:
        complaint_id = self.complaints_model.index(index.row(), 0).data(Qt.ItemDataRole.UserRole)
        if complaint_id is not None:
            self.complaintActivated.emit(int(complaint_id))

    @staticmethod
    def _history_line(item: HistoryItem) -> str:
        icon = HISTORY_ICONS.get(item.kind, "·")
        if item.kind == "note":  # the words themselves matter; who wrote them comes after
            text = " ".join(item.detail.split())
            text = text if len(text) <= 60 else text[:59] + "…"
            return f"{local(item.at)}  {icon} {text}  — {item.title}"
        return f"{local(item.at)}  {icon} {item.title}  · {item.detail}"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._watch_paint and event.type() == QEvent.Type.Paint:
            self._watch_paint = False
            self.historyPainted.emit()
        return False
