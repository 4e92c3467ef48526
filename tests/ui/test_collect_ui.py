"""Click through 预约取号 on both paths with fake ports; errors in plain words; idle timeout clears all."""

from __future__ import annotations

from kiosk_test_fakes import FakePrinter, create_his, create_id_card, create_services
from kiosk_test_support import task
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.domain.errors import PaperOut
from kiosk.domain.idnumber import mask_name
from kiosk.ui.automation.inspect import describe
from kiosk.ui.widgets.idle import WARN_SECONDS
from kiosk.ui.widgets.keypad import DELETE

HIS_DOWN_ZH = "医院系统暂时无法连接，请稍后再试或到人工窗口办理。"


def _visible_buttons(window) -> list[QPushButton]:
    return [b for b in window.findChildren(QPushButton) if b.isVisible()]


def _collect_a1(qtbot, window) -> None:
    """Start 预约取号 with the ID card on the reader, pick appointment A1 and tap 确认取号."""
    task(window, "collect").start()
    qtbot.mouseClick(task(window, "collect").screens.appointments.cards["A1"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(task(window, "collect").screens.appointments.confirm, Qt.MouseButton.LeftButton)


def test_id_card_path_prints_the_slip(qtbot, make_window, shot) -> None:
    """GIVEN an ID card on the reader WHEN the patient taps 预约取号, picks an appointment and confirms
    THEN the slip is printed with the masked name, department, doctor and queue number."""
    services = create_services(cards=[create_id_card()])
    window = make_window(services)
    shot(window, "01-home")
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.appointments  # the card was read and resolved at once
    assert "张*三" in task(window, "collect").screens.appointments.hello.text() and "张小三" not in task(window, "collect").screens.appointments.hello.text()
    assert not task(window, "collect").screens.appointments.cards["A0"].isEnabled()  # already collected: shown, not offered
    assert not task(window, "collect").screens.appointments.confirm.isEnabled()
    qtbot.mouseClick(task(window, "collect").screens.appointments.cards["A1"], Qt.MouseButton.LeftButton)
    shot(window, "04-appointments")
    qtbot.mouseClick(task(window, "collect").screens.appointments.confirm, Qt.MouseButton.LeftButton)

    assert window.current_screen is task(window, "collect").screens.result
    shot(window, "05-result")
    queue = task(window, "collect").screens.result.queue.text()
    assert queue and task(window, "collect").screens.result.take.text() == "请取走凭条和身份证"
    [slip] = services.printer.printed
    text = slip.plain_text()
    assert "姓名：张*三" in text and "心血管内科" in text and "李四 主任医师" in text and queue in text
    qtbot.mouseClick(task(window, "collect").screens.result.finish, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.home


def test_booking_code_path_with_the_keypad(qtbot, make_window, shot) -> None:
    services = create_services()
    window = make_window(services)
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.identify
    shot(window, "02-identify")
    qtbot.mouseClick(task(window, "collect").screens.identify.code, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.code_entry
    keys = task(window, "collect").screens.code_entry.keypad.keys
    for key in "87654321" + create_id_card().id_number.last4:
        qtbot.mouseClick(keys[key], Qt.MouseButton.LeftButton)
    shot(window, "03-code-entry")
    assert task(window, "collect").screens.code_entry.confirm.isEnabled()
    qtbot.mouseClick(task(window, "collect").screens.code_entry.confirm, Qt.MouseButton.LeftButton)

    assert window.current_screen is task(window, "collect").screens.appointments
    assert task(window, "collect").screens.appointments.cards["A2"].isChecked()  # the coded appointment is pre-selected
    qtbot.mouseClick(task(window, "collect").screens.appointments.confirm, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.result
    assert task(window, "collect").screens.result.take.text() == "请取走凭条"
    text = services.printer.printed[0].plain_text()
    assert "张*三" in text and "消化内科" in text and "王五 副主任医师" in text
    assert task(window, "collect").screens.result.queue.text() in text


def test_keypad_rejects_x_in_the_code_and_limits_lengths(qtbot, make_window) -> None:
    window = make_window(create_services())
    task(window, "collect").start()
    qtbot.mouseClick(task(window, "collect").screens.identify.code, Qt.MouseButton.LeftButton)
    entry = task(window, "collect").screens.code_entry
    assert not entry.keypad.keys["X"].isEnabled()
    entry.type_text("X1234567890")
    assert entry.code == "12345678" and entry.last4 == "90"
    entry.type_text("12X")
    assert entry.last4 == "9012" and entry.confirm.isEnabled()


def test_his_down_shows_plain_chinese_words(qtbot, make_window, shot) -> None:
    his = create_his()
    his.down = True
    window = make_window(create_services(his))
    task(window, "collect").start()
    qtbot.mouseClick(task(window, "collect").screens.identify.code, Qt.MouseButton.LeftButton)
    task(window, "collect").screens.code_entry.type_text("87654321" + create_id_card().id_number.last4)
    qtbot.mouseClick(task(window, "collect").screens.code_entry.confirm, Qt.MouseButton.LeftButton)

    assert window.current_screen is task(window, "collect").screens.error
    shot(window, "06-error-his-down")
    shown = task(window, "collect").screens.error.message.text()
    assert shown == HIS_DOWN_ZH
    everything = " ".join(label.text() for label in window.findChildren(type(task(window, "collect").screens.error.message)))
    assert "Traceback" not in everything and "HisUnavailable" not in everything
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    assert task(window, "collect").screens.error.message.text().startswith("The hospital system is unreachable")
    # the link may come back: retrying is offered, and repeats the look-up with what was typed
    assert task(window, "collect").screens.error.retry.isVisible() and task(window, "collect").screens.error.retry.text() == "Try again"
    qtbot.mouseClick(task(window, "collect").screens.error.retry, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.error and his.calls.count("resolve") == 2
    his.down = False
    qtbot.mouseClick(task(window, "collect").screens.error.retry, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.appointments and task(window, "collect").screens.appointments.cards["A2"].isChecked()
    qtbot.mouseClick(window.home_button, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.home and window.translator.language == "zh_CN"


def test_paper_out_mid_slip_is_a_success_with_a_note_and_reprints(qtbot, make_window, shot) -> None:
    """GIVEN the paper runs out while the slip prints WHEN the collection went through THEN the patient
    sees success (✓, the queue number big), a note that the slip did not print and where to get it
    (the staffed window), and 重新打印; a reprint that fails again says so; one that works prints."""
    services = create_services(cards=[create_id_card()])
    services.printer.fail_with = PaperOut("paper out")
    window = make_window(services)
    _collect_a1(qtbot, window)
    assert window.current_screen is task(window, "collect").screens.result
    shot(window, "07-result-not-printed")
    queue = task(window, "collect").state.collected.queue_number
    assert task(window, "collect").screens.result.title.text() == "取号成功" and task(window, "collect").screens.result.queue.text() == queue
    assert task(window, "collect").screens.result.queue.height() >= 100  # as big as on a printed slip's success
    note = task(window, "collect").screens.result.not_printed
    assert note.isVisible()
    assert note.text() == f"凭条未能打印（打印机缺纸）。取号已成功，请记住排队号 {queue}，到人工窗口补打凭条。"
    assert "查询补打" not in note.text()  # that task is not open yet: name the place that is
    assert task(window, "collect").screens.result.take.text() == "请取走身份证"  # no slip to take
    assert task(window, "collect").screens.result.reprint.isVisible() and task(window, "collect").screens.result.reprint.text() == "重新打印"
    qtbot.mouseClick(task(window, "collect").screens.result.reprint, Qt.MouseButton.LeftButton)  # paper still out
    assert window.current_screen is task(window, "collect").screens.result
    assert note.text().startswith("重新打印未成功（第 1 次）。凭条未能打印（打印机缺纸）")
    qtbot.mouseClick(task(window, "collect").screens.result.reprint, Qt.MouseButton.LeftButton)
    assert note.text().startswith("重新打印未成功（第 2 次）。")
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    shot(window, "07-result-not-printed-en")
    assert note.text().startswith("Printing again failed (attempt 2). Your slip did not print (the printer is out")
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    services.printer.fail_with = None
    qtbot.mouseClick(task(window, "collect").screens.result.reprint, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.result and task(window, "collect").screens.result.queue.text() == queue
    assert not note.isVisible() and not task(window, "collect").screens.result.reprint.isVisible()
    assert task(window, "collect").screens.result.take.text() == "请取走凭条和身份证"
    assert len(services.printer.printed) == 1 and services.his.calls.count("collect") == 1


def test_idle_timeout_counts_down_and_clears_patient_data(qtbot, make_window, shot) -> None:
    """The warning shows 20 s before the wipe (WCAG 2.2.1), one tap on more_time gives the full time
    back, and after the wipe nothing on the screen names the patient."""
    card = create_id_card()
    services = create_services(cards=[card], idle_timeout_s=60)
    window = make_window(services)
    task(window, "collect").start()
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)  # English, to check it resets too
    qtbot.mouseClick(window.elder_button, Qt.MouseButton.LeftButton)  # 76, declines elder mode's longer time
    qtbot.mouseClick(task(window, "collect").screens.appointments.cards["A2"], Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.appointments and window.idle.armed
    assert WARN_SECONDS >= 20
    for _ in range(60 - WARN_SECONDS - 1):
        window.idle.tick()
    assert not window.countdown.isVisible()
    window.idle.tick()
    assert window.countdown.isVisible() and "20" in window.countdown.text.text()
    assert describe(window).idle_countdown_s == 20
    shot(window, "08-idle-countdown")
    qtbot.mouseClick(window.countdown.more, Qt.MouseButton.LeftButton)
    assert not window.countdown.isVisible() and window.idle.remaining == 60
    for _ in range(60):
        window.idle.tick()

    assert window.current_screen is window.home
    assert task(window, "collect").state is None and task(window, "collect").screens.appointments.cards == {}
    shown = [label.text() for label in window.findChildren(type(task(window, "collect").screens.appointments.hello))]
    assert not any("张" in text or "心血管" in text for text in shown)
    assert task(window, "collect").screens.code_entry.code == "" and task(window, "collect").screens.result.queue.text() == ""
    assert window.translator.language == "zh_CN" and not window.idle.armed
    assert services.printer.printed == []
    # what GET /screen shows: no name (full or masked), no digits of the ID number
    texts = [e.text for e in describe(window).elements]
    number = card.id_number.value
    for secret in (card.name, mask_name(card.name), number[:6], number[6:14], number[-4:]):
        assert not any(secret in text for text in texts), secret


def test_idle_does_not_run_on_home(qtbot, make_window) -> None:
    window = make_window(create_services())
    for _ in range(200):
        window.idle.tick()
    assert window.current_screen is window.home and not window.countdown.isVisible()


def test_english_on_every_screen(qtbot, make_window) -> None:
    window = make_window(create_services(cards=[create_id_card()]))
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    assert window.home.tiles["collect"].text() == "Collect booking"
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert task(window, "collect").screens.appointments.confirm.text() == "Collect" and window.back.text().endswith("Back")
    assert "Fee ¥50.00" in [w.text() for w in task(window, "collect").screens.appointments.cards["A1"].labels]


def test_missing_printer_or_his_disables_the_task(qtbot, make_window) -> None:
    services = create_services()
    services.printer = None
    window = make_window(services)
    assert not window.home.tiles["collect"].isEnabled()
    assert window.home.notes["collect"].text() == "打印机未安装，暂不可用"
    # 查询补打 needs no printer to show the records: the kiosk stays in service with that one
    assert window.current_screen is window.home and window.home.tiles["lookup"].isEnabled()
    services.his.down = True
    services.printer = FakePrinter()
    window.check_his()
    assert window.home.notes["collect"].text() == "医院系统未连接，暂不可用"
    # no task is possible: the patient sees 暂停服务 with the reason and where to go
    assert window.current_screen is window.out_of_service
    assert window.out_of_service.reason.text() == "医院系统未连接，暂不可用"
    services.his.down = False
    window.check_his()
    assert window.home.tiles["collect"].isEnabled()
    assert window.current_screen is window.home


def test_out_of_service_screen(qtbot, make_window, shot) -> None:
    window = make_window(create_services())
    window.show_out_of_service("printer: paper-out")
    shot(window, "09-out-of-service")
    assert window.out_of_service.title.text() == "暂停服务"
    assert not window.back.isVisible() and not window.home_button.isVisible()


def test_touch_targets_are_at_least_60px(qtbot, make_window) -> None:
    window = make_window(create_services(cards=[create_id_card()]))
    seen = 0
    for step in (
        lambda: None,
        task(window, "collect").start,
        window.go_home,
        lambda: (task(window, "collect").start(), task(window, "collect").screens.identify.code.click()),
    ):
        step()
        for b in _visible_buttons(window):
            assert b.height() >= 60 and b.width() >= 60, b.objectName()
            seen += 1
    assert seen > 20


def test_scanned_code_identifies_the_patient(qtbot, make_window) -> None:
    services = create_services()
    services.scanner.codes.append("V0001234")  # a visit-card barcode
    window = make_window(services)
    task(window, "collect").start()
    assert window.current_screen is task(window, "collect").screens.appointments
    assert task(window, "collect").screens.result.take.text() == "请取走凭条"


def test_unreadable_card_shows_an_error_and_back_returns_to_identify(qtbot, make_window) -> None:
    from kiosk.domain.errors import CardUnreadable

    services = create_services(cards=[CardUnreadable("bad checksum")])
    window = make_window(services)
    task(window, "collect").start()
    assert window.current_screen is task(window, "collect").screens.error
    assert task(window, "collect").screens.error.message.text() == "无法读取卡片，请重新放置或更换证件。"
    qtbot.mouseClick(window.back, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.identify


def test_offline_id_reader_points_to_the_booking_code(qtbot, make_window) -> None:
    from kiosk.domain.errors import DeviceOffline

    services = create_services(cards=[DeviceOffline("unplugged")])
    window = make_window(services)
    task(window, "collect").start()
    assert window.current_screen is task(window, "collect").screens.identify
    assert task(window, "collect").screens.identify.warning.isVisible()
    assert "预约码" in task(window, "collect").screens.identify.warning.text()


def test_landscape_screens_fit_without_squashing(qtbot, make_window, shot) -> None:
    services = create_services(cards=[create_id_card()])
    window = make_window(services, size=(1920, 1080))
    assert window.height() == 1080
    _collect_a1(qtbot, window)
    shot(window, "10-landscape-result")
    for widget in (task(window, "collect").screens.result.queue, task(window, "collect").screens.result.take, task(window, "collect").screens.result.finish, task(window, "collect").screens.result.title):
        assert widget.height() >= widget.minimumSizeHint().height(), widget.objectName()
    window.go_home()
    for tile in window.home.tiles.values():
        assert tile.height() >= tile.minimumSizeHint().height() >= 60


def test_printer_out_of_paper_closes_collection_until_refilled(qtbot, make_window, shot) -> None:
    """GIVEN the home screen WHEN the printer reports paper out (from its device thread) THEN 预约取号 is
    greyed out saying why, before any patient starts; WHEN paper is back THEN it is offered again."""
    import threading

    from kiosk.devices.base import Detail, DeviceState

    services = create_services()
    window = make_window(services)
    tile = window.home.tiles["collect"]
    assert tile.isEnabled()
    publisher = services.printer._status
    worker = threading.Thread(target=publisher.set, args=(DeviceState.USER_ERROR, Detail.PAPER_OUT))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: not tile.isEnabled(), timeout=2000)
    shot(window, "09-printer-paper-out")
    assert window.home.notes["collect"].text() == "打印机缺纸，请联系工作人员"
    assert window.current_screen is window.home and window.home.tiles["lookup"].isEnabled()  # 查询 still works
    publisher.set(DeviceState.ONLINE, Detail.PAPER_LOW)  # low paper still prints
    qtbot.waitUntil(tile.isEnabled, timeout=2000)
    assert window.current_screen is window.home


def test_tasks_and_idle_wipes_reach_the_metrics(qtbot, make_window) -> None:
    """GIVEN the kiosk's metrics WHEN one patient collects, one hits paper out and one walks away THEN the
    counters a hospital scrapes say so, by task and by reason."""
    from kiosk.domain.errors import PaperOut
    from kiosk.sync.metrics import KioskMetrics

    services = create_services(cards=[create_id_card(), create_id_card(), create_id_card()], idle_timeout_s=10)
    services.metrics = KioskMetrics("K01")
    window = make_window(services)
    for fail in (None, PaperOut("paper out")):
        services.printer.fail_with = fail
        qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(task(window, "collect").screens.appointments.cards["A1"], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(task(window, "collect").screens.appointments.confirm, Qt.MouseButton.LeftButton)
        window.go_home()
    services.printer.fail_with = None
    task(window, "collect").start()
    for _ in range(window.idle.remaining):  # the patient walks away
        window.idle.tick()
    value = services.metrics.registry.get_sample_value
    assert value("kiosk_tasks_started_total", {"kiosk": "K01", "task": "collect"}) == 3
    assert value("kiosk_tasks_completed_total", {"kiosk": "K01", "task": "collect"}) == 1
    assert value("kiosk_tasks_failed_total", {"kiosk": "K01", "task": "collect", "reason": "PaperOut"}) == 1
    assert value("kiosk_idle_wipes_total", {"kiosk": "K01"}) == 1


def test_printer_out_of_paper_before_collecting_takes_nothing(qtbot, make_window, shot) -> None:
    """GIVEN the appointment list is shown and the paper runs out unseen (between two idle polls) WHEN
    the patient taps 确认取号 THEN the printer is asked first, the HIS is not asked to collect, and the
    patient is told the printer cannot print and that nothing changed (no 重试 a patient cannot make work)."""
    services = create_services(cards=[create_id_card()])
    window = make_window(services)
    task(window, "collect").start()
    qtbot.mouseClick(task(window, "collect").screens.appointments.cards["A1"], Qt.MouseButton.LeftButton)
    services.printer.run_out_of_paper()
    assert window.home.tiles["collect"].isEnabled()  # the kiosk had not noticed yet
    qtbot.mouseClick(task(window, "collect").screens.appointments.confirm, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.error
    shot(window, "11-error-printer-before-collect")
    assert "collect" not in services.his.calls and services.printer.printed == []
    assert task(window, "collect").screens.error.message.text() == (
        "打印机缺纸，暂不能办理，您的预约没有改变。请联系工作人员加纸，或到人工窗口办理。")
    assert not task(window, "collect").screens.error.retry.isVisible()
    qtbot.mouseClick(window.back, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.appointments


def test_outside_collection_window_says_when_without_retry(qtbot, make_window, shot) -> None:
    """GIVEN the HIS refuses the collection as outside its window WHEN the error shows THEN it says when
    to come back, and offers no 重试 (it would only show the same refusal)."""
    from kiosk.domain.errors import HisRefused

    services = create_services(cards=[create_id_card()])
    services.his.refuse_collect = HisRefused(
        "OUTSIDE_COLLECTION_WINDOW", "不在取号时间内", "Outside the collection hours",
        {"window_start": "2026-11-23T13:30:00+08:00", "window_end": "2026-11-23T16:30:00+08:00"})
    window = make_window(services)
    _collect_a1(qtbot, window)
    assert window.current_screen is task(window, "collect").screens.error
    shot(window, "12-error-outside-window")
    assert task(window, "collect").screens.error.message.text() == "当前不在取号时间，请在 13:30 至 16:30 之间取号。"
    assert not task(window, "collect").screens.error.retry.isVisible()
    header = {"lang", "elder", "repeat_voice"}
    assert [b.objectName() for b in _visible_buttons(window) if b.objectName() not in header] == [
        "back", "home"]


def test_afternoon_appointment_in_the_morning_shows_when_it_opens(qtbot, make_window, shot) -> None:
    """GIVEN it is 08:15 and the patient has a 14:00 appointment whose collection opens at 13:30 WHEN the
    list shows THEN that card says 13:30 起可取号 and cannot be chosen; the morning one can."""
    import dataclasses

    his = create_his()
    his.appointments = [  # as the HIS says at 08:15: the afternoon window is not open yet
        dataclasses.replace(a, collect_from=a.start.replace(hour=13 if a.period == "pm" else 7, minute=30),
                            window_open=a.period == "am")
        for a in his.appointments
    ]
    services = create_services(his, cards=[create_id_card(), create_id_card()])
    window = make_window(services)
    task(window, "collect").start()
    shot(window, "13-appointments-afternoon-later")
    afternoon, morning = task(window, "collect").screens.appointments.cards["A2"], task(window, "collect").screens.appointments.cards["A1"]
    assert not afternoon.isEnabled() and morning.isEnabled()
    assert "13:30 起可取号" in [w.text() for w in afternoon.labels]
    qtbot.mouseClick(afternoon, Qt.MouseButton.LeftButton)
    assert task(window, "collect").state.selected_id != "A2"
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    assert "Collect from 13:30" in [w.text() for w in afternoon.labels]
    # only the afternoon one: the list says to come back, not that there is nothing
    his.appointments = [a for a in his.appointments if a.id == "A2"]
    window.go_home()
    task(window, "collect").start()
    assert task(window, "collect").screens.appointments.empty.text() == "您的预约还未到取号时间，请在下方所示时间后再来取号"
    assert not task(window, "collect").screens.appointments.empty_hint.isVisible() and not task(window, "collect").screens.appointments.confirm.isVisible()


def test_wrong_last4_then_back_keeps_the_booking_code(qtbot, make_window, shot) -> None:
    """GIVEN a booking code and a wrong last-4 WHEN the look-up fails and the patient taps 返回 THEN the
    code is still there and only the ID digits are typed again; 删除 in the empty ID field steps back
    into the code."""
    window = make_window(create_services())
    task(window, "collect").start()
    qtbot.mouseClick(task(window, "collect").screens.identify.code, Qt.MouseButton.LeftButton)
    keys = task(window, "collect").screens.code_entry.keypad.keys
    for key in "876543210000":
        qtbot.mouseClick(keys[key], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(task(window, "collect").screens.code_entry.confirm, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.error
    qtbot.mouseClick(window.back, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.code_entry
    shot(window, "14-code-entry-kept")
    entry = task(window, "collect").screens.code_entry
    assert entry.code == "87654321" and entry.last4 == "" and entry.last4_field.isChecked()
    for key in create_id_card().id_number.last4:
        qtbot.mouseClick(keys[key], Qt.MouseButton.LeftButton)
    for _ in range(5):  # four ID digits, then one step back into the code
        qtbot.mouseClick(keys[DELETE], Qt.MouseButton.LeftButton)
    assert entry.last4 == "" and entry.code == "8765432" and entry.code_field.isChecked()
    qtbot.mouseClick(keys["1"], Qt.MouseButton.LeftButton)
    assert entry.code == "87654321" and entry.last4_field.isChecked()


def test_insurance_card_left_in_does_not_loop_back(qtbot, make_window) -> None:
    """GIVEN an insurance card read and left in the reader WHEN the patient taps 返回 on the list THEN the
    identify screen stays (no re-identification) and the code entry can be reached; taking the card
    out and putting it back identifies again."""
    from kiosk_test_fakes import create_insurance_card

    services = create_services()
    services.insurance.insert(create_insurance_card())
    window = make_window(services)
    task(window, "collect").start()
    assert window.current_screen is task(window, "collect").screens.appointments
    qtbot.mouseClick(window.back, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.identify
    assert services.his.calls.count("resolve") == 1
    qtbot.mouseClick(task(window, "collect").screens.identify.code, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.code_entry
    qtbot.mouseClick(window.back, Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.identify and services.his.calls.count("resolve") == 1
    services.insurance.remove()
    assert window.current_screen is task(window, "collect").screens.identify
    services.insurance.insert(create_insurance_card())
    qtbot.waitUntil(lambda: window.current_screen is task(window, "collect").screens.appointments, timeout=3000)
    assert services.his.calls.count("resolve") == 2


def test_id_reader_unplug_and_replug_on_the_identify_screen(qtbot, make_window, shot) -> None:
    """GIVEN the identify screen WHEN the ID-card reader is unplugged THEN the heading no longer asks for
    the ID card and a warning says the reader is unavailable; WHEN it is plugged back THEN the warning
    goes and a card laid on it is read at once."""
    services = create_services()
    window = make_window(services)
    task(window, "collect").start()
    screen = task(window, "collect").screens.identify
    assert screen.title.text() == "请将身份证放在读卡区" and not screen.warning.isVisible()
    services.idcard.unplug()
    services.idcard.cards.append(create_id_card())  # laid on while unplugged: not readable yet
    qtbot.waitUntil(screen.warning.isVisible, timeout=3000)
    shot(window, "15-identify-reader-unplugged")
    assert screen.title.text() == "请插入医保卡、扫码，或输入预约码"
    assert "身份证读卡器暂不可用" in screen.warning.text() and not screen.icon.isVisible()
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    shot(window, "15-identify-reader-unplugged-en")
    assert screen.title.text() == "Insert your insurance card, scan a code, or enter your booking code"
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    services.idcard.replug()
    qtbot.waitUntil(lambda: window.current_screen is task(window, "collect").screens.appointments, timeout=3000)
    assert not screen.warning.isVisible() and screen.title.text() == "请将身份证放在读卡区"


def test_english_names_departments_titles_and_the_hospital(qtbot, make_window, shot) -> None:
    """GIVEN the HIS sends English department names and titles WHEN the patient switches to English THEN
    the list, the result and the header are in English (the hospital's configured English name)."""
    import dataclasses

    his = create_his()
    english = {"心血管内科": "Cardiology", "消化内科": "Gastroenterology"}
    titles = {"主任医师": "Chief Physician", "副主任医师": "Associate Chief Physician"}
    his.appointments = [dataclasses.replace(a, department_en=english[a.department],
                                            doctor_title_en=titles.get(a.doctor_title or "", ""))
                        for a in his.appointments]
    services = create_services(his, cards=[create_id_card()])
    window = make_window(services)
    assert window.hospital.text() == "示范医院"
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    assert window.hospital.text() == "Demonstration Hospital"
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    shot(window, "16-appointments-en")
    shown = [w.text() for w in task(window, "collect").screens.appointments.cards["A1"].labels]
    assert "Cardiology" in shown and "李四 Chief Physician" in shown
    qtbot.mouseClick(task(window, "collect").screens.appointments.cards["A1"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(task(window, "collect").screens.appointments.confirm, Qt.MouseButton.LeftButton)
    shot(window, "16-result-en")
    assert task(window, "collect").screens.result.visit.text().startswith("Cardiology ")
    everything = " ".join(w.text() for w in window.findChildren(type(window.hospital)) if w.isVisible())
    names = ("李四", "中文", "3楼 305诊室")  # a person's name, the switch back, the HIS's room (no English form)
    for name in names:
        everything = everything.replace(name, "")
    chinese = [ch for ch in everything if "\u4e00" <= ch <= "\u9fff"]
    assert not chinese, everything
