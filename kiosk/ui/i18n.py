"""UI strings in Chinese and English, and the switch between them (patient messages: kiosk.domain.messages)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

# key -> (zh_CN, en)
STRINGS: dict[str, tuple[str, str]] = {
    "lang.toggle": ("English", "中文"),
    "nav.back": ("‹ 返回", "‹ Back"),
    "nav.home": ("⌂ 首页", "⌂ Home"),
    "home.welcome": ("您好，请选择要办理的业务", "Welcome. Please choose a service"),
    "task.book": ("预约挂号", "Book a visit"),
    "task.book.desc": ("预约或当日挂号", "Book or register today"),
    "task.collect": ("预约取号", "Collect booking"),
    "task.collect.desc": ("凭身份证或预约码取号", "With ID card or booking code"),
    "task.pay": ("门诊缴费", "Pay bills"),
    "task.pay.desc": ("处方、检验、检查费用", "Prescriptions, lab, imaging"),
    "task.checkin": ("报到排队", "Check in"),
    "task.checkin.desc": ("到诊区报到，打印排队号", "Join the waiting queue"),
    "task.lookup": ("查询补打", "Look up and reprint"),
    "task.lookup.desc": ("查询记录，补打凭条", "Records and reprints"),
    "task.coming_soon": ("即将开放", "Coming soon"),
    "task.no_printer": ("打印机未安装，暂不可用", "Unavailable: no printer"),
    "task.no_his": ("医院系统未连接，暂不可用", "Unavailable: hospital system offline"),
    "task.printer_paper_out": ("打印机缺纸，请联系工作人员", "Unavailable: printer out of paper"),
    "task.printer_cover_open": ("打印机盖未关，请联系工作人员", "Unavailable: printer cover open"),
    "task.printer_down": ("打印机故障，请联系工作人员", "Unavailable: printer not ready"),
    "step.identify": ("识别身份", "Identify"),
    "step.choose": ("选择预约", "Choose"),
    "step.collect": ("取号打印", "Collect"),
    "step.done": ("完成", "Done"),
    "identify.title": ("请将身份证放在读卡区", "Place your ID card on the reader"),
    "identify.others": (
        "也可插入医保卡，或扫描医保电子凭证、电子健康卡、就诊卡",
        "Or insert your insurance card, or scan your e-voucher, e-health or visit card",
    ),
    "identify.code": ("输入预约码取号", "Enter booking code"),
    "identify.no_reader": (
        "身份证读卡器暂不可用，请输入预约码",
        "The ID card reader is unavailable: enter your booking code",
    ),
    "code.title": ("请输入预约码和身份证号后4位", "Enter your booking code and the last 4 of your ID number"),
    "code.code": ("预约码（短信中的8位数字）", "Booking code (8 digits, from the SMS)"),
    "code.last4": ("身份证号后4位", "Last 4 characters of your ID number"),
    "code.confirm": ("确认", "Confirm"),
    "keypad.clear": ("清空", "Clear"),
    "keypad.delete": ("删除", "Delete"),
    "appts.title": ("请选择要取号的预约", "Choose the appointment to collect"),
    "appts.hello": ("{name}，您好", "Hello, {name}"),
    "appts.none": ("您今天没有待取号的预约", "You have no appointment to collect today"),
    "appts.none_hint": (
        "如需挂号请选择“预约挂号”；已取号的可在“查询补打”补打凭条。",
        "To book, choose “Book a visit”. Already collected? Reprint in “Look up and reprint”.",
    ),
    "appts.confirm": ("确认取号", "Collect"),
    "appts.fee": ("挂号费 {fee}", "Fee {fee}"),
    "appts.general": ("普通号", "General clinic"),
    "status.collected": ("已取号", "Collected"),
    "status.checked_in": ("已报到", "Checked in"),
    "status.cancelled": ("已退号", "Cancelled"),
    "status.no_show": ("已过期", "Missed"),
    "period.am": ("上午", "AM"),
    "period.pm": ("下午", "PM"),
    "busy.identify": ("正在查询，请稍候…", "Looking you up, please wait…"),
    "busy.collect": ("正在取号，请稍候…", "Collecting, please wait…"),
    "busy.print": ("正在打印凭条，请稍候…", "Printing your slip, please wait…"),
    "result.title": ("取号成功", "Collected"),
    "result.queue": ("您的排队号", "Your queue number"),
    "result.where": ("请到 {where} 候诊", "Please wait at {where}"),
    "result.take_card": ("请取走凭条和身份证", "Please take your slip and your ID card"),
    "result.take_slip": ("请取走凭条", "Please take your slip"),
    "result.finish": ("完成", "Finish"),
    "error.title": ("未能完成办理", "We could not finish"),
    "error.retry": ("重试", "Try again"),
    "error.reprint": ("重新打印", "Print again"),
    "error.collected": ("您已取号成功，排队号 {queue}。", "You have collected: queue number {queue}."),
    "oos.title": ("暂停服务", "Out of service"),
    "oos.body": (
        "本机暂停服务，请到人工窗口办理。给您带来不便，敬请谅解。",
        "This kiosk is out of service. Please go to a staffed window. Sorry for the inconvenience.",
    ),
    "recovering.title": ("正在准备，请稍候", "Getting ready, please wait"),
    "recovering.body": (
        "本机正在核对上次未完成的交易，马上就好。",
        "The kiosk is checking unfinished transactions. It will be ready in a moment.",
    ),
    "idle.countdown": ("{seconds} 秒后将返回首页", "Returning to the start in {seconds} s"),
    "idle.more": ("延长时间", "More time"),
}


class Translator(QObject):
    """The current UI language. `language_changed` fires after a switch; screens then retranslate."""

    language_changed = Signal(str)

    def __init__(self, default: str = "zh_CN") -> None:
        super().__init__()
        self.default = default
        self.language = default

    @property
    def is_english(self) -> bool:
        return self.language.startswith("en")

    def tr(self, key: str, **values: object) -> str:
        pair = STRINGS.get(key)
        if pair is None:
            return key  # a missing key shows up in screenshots and tests, not as a crash
        text = pair[1 if self.is_english else 0]
        return text.format(**values) if values else text

    def set_language(self, language: str) -> None:
        if language != self.language:
            self.language = language
            self.language_changed.emit(language)

    def toggle(self) -> None:
        self.set_language("zh_CN" if self.is_english else "en")

    def reset(self) -> None:
        self.set_language(self.default)
