"""Today's appointments as big cards; only collectable ones can be chosen, then 确认取号."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QPushButton

from kiosk.domain.appointment import Appointment
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.paged_list import PagedList


class AppointmentsScreen(Screen):
    name = "appointments"
    selected = Signal(str)  # appointment id
    confirmed = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(20, (48, 32))
        self.hello = label("", "subtitle")
        self.title = label("", "title")
        self.empty = label("", "warning", center=True, name="appointments_note")
        self.empty_hint = label("", "hint", center=True)
        self.list = PagedList(translator, 20)
        self.confirm = button("", "primary", name="primary")
        self.confirm.clicked.connect(self.confirmed.emit)
        for widget in (self.hello, self.title, self.empty, self.empty_hint):
            layout.addWidget(widget)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.confirm)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.cards: dict[str, QPushButton] = {}
        self._appointments: tuple[Appointment, ...] = ()
        self._selected_id: str | None = None
        self._patient_name = ""

    def show_appointments(
        self, patient_name: str, appointments: tuple[Appointment, ...], selected_id: str | None
    ) -> None:
        """`patient_name` must already be masked."""
        self._patient_name = patient_name
        self._appointments = appointments
        self._selected_id = selected_id
        self._rebuild()

    def clear(self) -> None:
        self.show_appointments("", (), None)

    def _rebuild(self) -> None:
        for card in self.cards.values():
            self._group.removeButton(card)
            card.setParent(None)  # gone from the window at once, not at the next event-loop turn
            card.deleteLater()
        self.cards = {}
        # collectable first, in time order; the others stay visible so nobody wonders where they went
        ordered = sorted(self._appointments, key=lambda a: (not a.collectable, a.start))
        for index, appointment in enumerate(ordered):
            card = self._card(appointment)
            card.setObjectName(f"item-{index}")  # the automation id: the list's order as shown
            self.cards[appointment.id] = card
            self._group.addButton(card)
        self.list.set_items(list(self.cards.values()))
        self.retranslate()

    def _card(self, appointment: Appointment) -> QPushButton:
        card = button("", "card")
        card.setCheckable(True)
        card.setEnabled(appointment.collectable)
        card.setChecked(appointment.id == self._selected_id)
        card.clicked.connect(lambda _=False, a=appointment.id: self._on_card_clicked(a))
        grid = QGridLayout(card)
        grid.setContentsMargins(32, 20, 32, 20)
        grid.setSizeConstraint(QGridLayout.SizeConstraint.SetMinimumSize)  # grows with elder mode's text
        # one line each (no wrapping), so the card's height follows its text in either mode
        parts = [
            (label("", "card-title", wrap=False), 0, 0),
            (label("", "card-fee" if appointment.collectable else "card-status", wrap=False), 0, 1),
            (label("", "card-line", wrap=False), 1, 0),
            (label("", "card-line", wrap=False), 2, 0),
        ]
        for widget, row, column in parts:
            widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            if column:
                widget.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(widget, row, column, 1, 1 if column or not row else 2)
        card.setProperty("appointment", appointment.id)
        card.labels = [w for w, _, _ in parts]  # type: ignore[attr-defined]
        return card

    def _on_card_clicked(self, appointment_id: str) -> None:
        self._selected_id = appointment_id
        self.confirm.setEnabled(True)
        self.selected.emit(appointment_id)

    def retranslate(self) -> None:
        t = self.t
        self.hello.setText(t.tr("appts.hello", name=self._patient_name))
        self.title.setText(t.tr("appts.title"))
        collectable = [a for a in self._appointments if a.collectable]
        later = any(a.opens_later for a in self._appointments)
        self.empty.setText(t.tr("appts.later" if later else "appts.none"))
        self.empty_hint.setText(t.tr("appts.none_hint"))
        self.empty.setVisible(not collectable)
        self.empty_hint.setVisible(not collectable and not later)
        self.title.setVisible(bool(collectable))
        self.confirm.setText(t.tr("appts.confirm"))
        self.confirm.setVisible(bool(collectable))
        self.confirm.setEnabled(self._selected_id in {a.id for a in collectable})
        by_id = {a.id: a for a in self._appointments}
        english = t.is_english
        for appointment_id, card in self.cards.items():
            a = by_id[appointment_id]
            department, corner, doctor, when = card.labels  # type: ignore[attr-defined]
            department.setText(a.department_in(english))
            corner.setText(self._corner(a))
            doctor.setText(
                " ".join(p for p in (a.doctor or t.tr("appts.general"), a.doctor_title_in(english) or "") if p)
            )
            when.setText(f"{a.date:%Y-%m-%d}  {t.tr(f'period.{a.period}')}  {a.time_text}")

    def _corner(self, a: Appointment) -> str:
        """The fee of one that can be collected now; otherwise why not (collected, or from when)."""
        if a.collectable:
            return self.t.tr("appts.fee", fee=a.fee)
        if a.opens_later and a.collect_from is not None:
            return self.t.tr("appts.opens_at", time=f"{a.collect_from:%H:%M}")
        return self.t.tr(f"status.{a.status.value}")
