"""The GUI-thread side of the automation port: reads the screen and taps through real mouse events.

A tap is a press and release at the element's centre sent with QTest to the widget itself, so it
takes the path a finger's does (event filters, the idle timer, the widget's own click handling).
The HTTP threads hand work over with `call()`; every action runs on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QPoint, Qt, Signal
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QApplication, QWidget

from kiosk.domain.errors import AutomationRefused
from kiosk.ui.automation.elements import ScreenState, find_element
from kiosk.ui.automation.inspect import describe, element_of, visible_widgets
from kiosk.ui.stall_monitor import StallMonitor

if TYPE_CHECKING:
    from kiosk.ui.main_window import MainWindow

T = TypeVar("T")

SETTLE_TURNS = 3
GUI_TIMEOUT_S = 30.0
"""How long an HTTP thread waits for the GUI thread before it answers 503 (a frozen screen)."""


def _keypad_id(char: str) -> str:
    return f"keypad-{char.lower()}"


class AutomationDriver(QObject):
    """Lives on the GUI thread (a child of the window); `call` is for the other threads."""

    _job = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._one_at_a_time = threading.Lock()
        self.stalls = StallMonitor(lambda: window.current_screen.name, self)
        self.stalls.start()
        # emitted from an HTTP thread, delivered queued onto the GUI thread this object lives on
        self._job.connect(self._run)

    def call(self, action: Callable[[], T]) -> T:
        """Run `action` on the GUI thread and return its result (or raise what it raised)."""
        future: Future[T] = Future()
        with self._one_at_a_time:
            self._job.emit((action, future))
            try:
                return future.result(GUI_TIMEOUT_S)
            except TimeoutError:
                future.cancel()
                raise AutomationRefused(503, "GUI_NOT_RESPONDING",
                                        f"the screen did not answer within {GUI_TIMEOUT_S:.0f} s") from None

    def _run(self, job: tuple[Callable[[], Any], Future[Any]]) -> None:
        action, future = job
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(action())
        except BaseException as exc:  # noqa: BLE001 - handed back to the HTTP thread that asked
            future.set_exception(exc)

    # --- actions (GUI thread) ---------------------------------------------------------------------------
    def screen(self) -> ScreenState:
        # pending layouts and repaints first: rects as the patient sees them (a layout settled in one
        # turn can post another, e.g. list items that grew with elder mode's text)
        for _ in range(SETTLE_TURNS):
            QApplication.processEvents()
        with self.stalls.excluded():
            return describe(self.window)

    def tap(self, element_id: str | None = None, text: str | None = None, at: tuple[int, int] | None = None
            ) -> ScreenState:
        if at is not None:
            self._tap_at(QPoint(int(at[0]), int(at[1])))
        else:
            QApplication.processEvents()
            with self.stalls.excluded():  # finding the element is the tester's eyes; the press is the finger
                widgets = visible_widgets(self.window)
                elements = [element_of(self.window, w) for w in widgets]
                chosen = find_element(elements, element_id=element_id, text=text)
            self._press(widgets[elements.index(chosen)])
        return self.screen()

    def scroll(self, direction: str) -> ScreenState:
        """A patient's swipe on the screen's list: one page up or down (no list, or at its end: unchanged)."""
        action = {"down": QAbstractSlider.SliderAction.SliderPageStepAdd,
                  "up": QAbstractSlider.SliderAction.SliderPageStepSub}[direction]
        for area in self.window.current_screen.findChildren(QAbstractScrollArea):
            bar = area.verticalScrollBar()
            if area.isVisible() and bar.maximum() > bar.minimum():
                bar.triggerAction(action)  # as a patient's swipe does: the list forgets the place it kept
                break
        return self.screen()

    def view(self, size: tuple[int, int] | None, lang: str | None, mode: str | None) -> ScreenState:
        """Turn the screen (a new window size), switch the language or elder mode, as a tester's setup."""
        with self.stalls.excluded():
            self._set_view(size, lang, mode)
        return self.screen()

    def _set_view(self, size: tuple[int, int] | None, lang: str | None, mode: str | None) -> None:
        if size is not None:
            self.window.resize(*size)
        if lang is not None:
            self.window.set_language(lang)
        if mode is not None:
            self.window.set_elder(mode == "elder")
        for _ in range(SETTLE_TURNS):  # the new look's layouts and repaints are part of the set-up too
            QApplication.processEvents()

    def type_text(self, text: str) -> ScreenState:
        for char in text:
            self.tap(element_id=_keypad_id(char))
        return self.screen()

    def screenshot(self) -> bytes:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        with self.stalls.excluded():
            self.window.grab().save(buffer, "PNG")
        buffer.close()
        return bytes(data.data())

    def _tap_at(self, point: QPoint) -> None:
        if not self.window.rect().contains(point):
            raise AutomationRefused(404, "ELEMENT_NOT_FOUND", f"({point.x()}, {point.y()}) is outside the window")
        # through the window's QWindow, as the platform delivers a finger's touch: Qt finds the widget there
        QTest.mouseClick(self.window.windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)

    def _press(self, widget: QWidget) -> None:
        # the centre of the part that shows (a list item may be half scrolled out of view)
        centre = widget.visibleRegion().boundingRect().center()
        on_top = self.window.childAt(widget.mapTo(self.window, centre))
        if on_top is not None and on_top is not widget and not widget.isAncestorOf(on_top):
            # a finger would land on what covers it (the busy overlay): say so rather than reach under
            raise AutomationRefused(409, "ELEMENT_COVERED",
                                    f"'{widget.objectName()}' is covered by '{on_top.objectName() or type(on_top).__name__}'")
        self._tap_at(widget.mapTo(self.window, centre))
