"""UI strings in Chinese and English, and the switch between them (patient messages: kiosk.domain.messages)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

# key -> (zh_CN, en)
STRINGS: dict[str, tuple[str, str]] = {
    "lang.toggle": ("English", "中文"),
    "nav.back": ("‹ 返回", "‹ Back"),
    "nav.home": ("⌂ 首页", "⌂ Home"),
    "voice.repeat": ("重听", "Repeat"),
    "elder": ("长辈模式", "Elder mode"),
    "home.welcome": ("您好，请选择要办理的业务", "Welcome. Please choose a service"),
    "task.book": ("预约挂号", "Book a visit"),
    "task.book.desc": ("预约或当日挂号", "Book or register today"),
    "task.collect": ("预约取号", "Collect booking"),
    "task.collect.desc": ("凭身份证或预约码取号", "With ID card or booking code"),
    "task.pay": ("门诊缴费", "Pay bills"),
    "task.pay.desc": ("处方、检验、检查费用", "Prescriptions, lab, imaging"),
    "task.checkin": ("报到排队", "Check in"),
    "task.checkin.desc": ("到诊区报到，打印排队号", "Join the waiting queue"),
    "task.lookup": ("查询补打", "Records"),
    "task.lookup.desc": ("查询记录，补打凭条", "Records and reprints"),
    "task.coming_soon": ("即将开放", "Coming soon"),
    "task.no_printer": ("打印机未安装，暂不可用", "Unavailable: no printer"),
    "task.no_his": ("医院系统未连接，暂不可用", "Unavailable: hospital system offline"),
    "task.printer_paper_out": ("打印机缺纸，请联系工作人员", "Unavailable: printer out of paper"),
    "task.printer_cover_open": ("打印机盖未关，请联系工作人员", "Unavailable: printer cover open"),
    "task.printer_down": ("打印机故障，请联系工作人员", "Unavailable: printer not ready"),
    "task.no_idcard": ("身份证读卡器未安装，暂不可用", "Unavailable: no ID card reader"),
    "task.no_insurance": ("医保卡读卡器未安装，暂不可用", "Unavailable: no insurance card reader"),
    "task.no_payment": ("支付终端未安装，暂不可用", "Unavailable: no payment terminal"),
    "task.no_scanner": ("扫码器未安装，暂不可用", "Unavailable: no scanner"),
    "task.idcard_down": ("身份证读卡器故障，请联系工作人员", "Unavailable: ID card reader not ready"),
    "task.insurance_down": ("医保卡读卡器故障，请联系工作人员", "Unavailable: insurance card reader not ready"),
    "task.payment_down": ("支付终端故障，请联系工作人员", "Unavailable: payment terminal not ready"),
    "task.scanner_down": ("扫码器故障，请联系工作人员", "Unavailable: scanner not ready"),
    "oos.window": ("人工窗口：{window}", "Staffed window: {window}"),
    "admin.pin_title": ("技术人员入口：请输入密码", "Technician: enter the PIN"),
    "admin.enter": ("进入", "Enter"),
    "admin.cancel": ("取消", "Cancel"),
    "admin.pin_wrong": ("密码错误，还可尝试 {tries} 次", "Wrong PIN: {tries} tries left"),
    "admin.pin_locked": ("错误次数过多，已锁定，请 {minutes} 分钟后再试", "Too many wrong PINs: locked for {minutes} min"),
    "admin.diag_title": ("设备诊断 · 终端 {kiosk} · {worst}", "Diagnostics · kiosk {kiosk} · {worst}"),
    "admin.selftest": ("自检", "Self-test"),
    "admin.refresh": ("刷新", "Refresh"),
    "admin.restart": ("重启程序", "Restart app"),
    "admin.exit": ("退出维护", "Leave"),
    "admin.backlog": ("待处理交易：{count} 笔", "Journal backlog: {count}"),
    "admin.ok": ("成功", "OK"),
    "admin.failed": ("失败", "FAILED"),
    "health.ok": ("正常", "OK"),
    "health.warning": ("警告", "Warning"),
    "health.error": ("故障", "Error"),
    "health.offline": ("离线", "Offline"),
    "device.idcard": ("身份证读卡器", "ID card reader"),
    "device.insurance": ("医保卡读卡器", "Insurance reader"),
    "device.printer": ("凭条打印机", "Receipt printer"),
    "device.payment": ("支付终端", "Payment terminal"),
    "device.scanner": ("扫码器", "Scanner"),
    "device.his": ("医院系统", "Hospital system"),
    "step.identify": ("识别身份", "Identify"),
    "step.choose": ("选择预约", "Choose"),
    "step.collect": ("取号打印", "Collect"),
    "step.done": ("完成", "Done"),
    "identify.title": ("请将身份证放在读卡区", "Place your ID card on the reader"),
    "identify.others": (
        "也可插入医保卡，或扫描医保电子凭证、电子健康卡、就诊卡",
        "Or insert your insurance card, or scan your e-voucher, e-health or visit card",
    ),
    "identify.title_no_reader": (
        "请插入医保卡、扫码，或输入预约码",
        "Insert your insurance card, scan a code, or enter your booking code",
    ),
    "identify.code": ("输入预约码取号", "Enter booking code"),
    "identify.no_reader": (
        "身份证读卡器暂不可用，请输入预约码",
        "The ID card reader is unavailable: enter your booking code",
    ),
    "code.title": ("请输入预约码和身份证号后4位", "Enter your booking code and ID number"),
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
        "To book, choose “Book a visit”. Already collected? Reprint in “Records”.",
    ),
    "appts.later": (
        "您的预约还未到取号时间，请在下方所示时间后再来取号",
        "Your appointment cannot be collected yet: please come back from the time shown below",
    ),
    "appts.opens_at": ("{time} 起可取号", "Collect from {time}"),
    "appts.confirm": ("确认取号", "Collect"),
    "appts.fee": ("挂号费 {fee}", "Fee {fee}"),
    "appts.general": ("普通号", "General clinic"),
    "status.booked": ("待取号", "To collect"),
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
    "result.take_card_only": ("请取走身份证", "Please take your ID card"),
    "result.finish": ("完成", "Finish"),
    "result.reprint": ("重新打印", "Print again"),
    "result.not_printed": (
        "凭条未能打印（{why}）。取号已成功，请记住排队号 {queue}，到人工窗口补打凭条。",
        ("Your slip did not print ({why}). You are collected: remember queue number {queue} and get "
        "the slip at a staffed window."),
    ),
    "result.reprint_failed": ("重新打印未成功（第 {count} 次）。", "Printing again failed (attempt {count}). "),
    "result.why.paper_out": ("打印机缺纸", "the printer is out of paper"),
    "result.why.cover_open": ("打印机盖未关", "the printer cover is open"),
    "result.why.printer": ("打印机故障", "the printer failed"),
    "error.title": ("未能完成办理", "We could not finish"),
    "error.retry": ("重试", "Try again"),
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
    "task.book_fee_at_window": ("暂不支持在本机缴纳挂号费，请到人工窗口挂号", "Unavailable: the fee cannot be paid here"),
    "busy.wait": ("正在查询，请稍候…", "Please wait…"),
    "busy.hold": ("正在为您锁定号源…", "Holding the slot for you…"),
    "busy.book": ("正在挂号，请稍候…", "Booking, please wait…"),
    "busy.checkin": ("正在报到，请稍候…", "Checking you in, please wait…"),
    "busy.cancel": ("正在退号，请稍候…", "Cancelling, please wait…"),
    "book.step.department": ("科室", "Department"),
    "book.step.doctor": ("医生", "Doctor"),
    "book.step.time": ("时间", "Time"),
    "book.step.confirm": ("确认", "Confirm"),
    "book.hello_new": ("{name}，您好，已为您建立就诊档案", "Hello, {name}: your patient record has been created"),
    "book.departments": ("请选择科室（可按症状查找）", "Choose a department (or a symptom)"),
    "book.all": ("全部科室", "All"),
    "book.hint.头痛": ("头痛", "Headache"),
    "book.hint.胸痛": ("胸痛", "Chest pain"),
    "book.hint.咳嗽": ("咳嗽", "Cough"),
    "book.hint.腹痛": ("腹痛", "Stomach"),
    "book.hint.牙": ("牙痛", "Tooth"),
    "book.no_department": ("没有找到相应科室，请点“全部科室”", "No department found: tap “All”"),
    "book.doctors": ("请选择医生", "Choose a doctor"),
    "book.general_line": ("本科室医生轮流接诊", "Any doctor of this department"),
    "book.substituted": ("替诊：{name}", "Substitute: {name}"),
    "book.free": ("余号 {count}", "{count} free"),
    "book.no_doctor": ("该科室近期号源已满，请选择其他科室或到人工窗口咨询", "No free slots soon: choose another department or ask at a window"),
    "book.dates": ("请选择就诊日期", "Choose the day"),
    "book.today": ("当日挂号", "today"),
    "book.slots": ("请选择就诊时段", "Choose the time"),
    "book.no_slot": ("该日已无可预约时段，请返回选择其他日期", "No free time that day: go back and choose another day"),
    "book.patient": ("就诊人", "Patient"),
    "book.department": ("科室", "Department"),
    "book.doctor": ("医生", "Doctor"),
    "book.when": ("就诊时间", "When"),
    "book.fee": ("挂号费", "Fee"),
    "book.confirm_title": ("请核对挂号信息", "Please check your booking"),
    "book.confirm": ("确认挂号", "Book"),
    "book.pay_later": ("挂号费请于就诊当日取号时缴纳", "Pay the fee when you collect on the day"),
    "book.substitute": ("原医生停诊，由 {name} {title} 替诊，请确认", "The doctor is away: {name} ({title}) will see you. Please confirm"),
    "book.accept_substitute": ("同意由替诊医生就诊", "I accept the substitute doctor"),
    "book.done": ("挂号成功", "Booked"),
    "book.code": ("您的预约码", "Your booking code"),
    "book.collect_hint": ("就诊当日凭身份证或预约码在自助机取号", "On the day, collect at a kiosk with your ID card or this code"),
    "book.take_next": ("预约该时段", "Book this time"),
    "book.next_free": ("下一个可预约时段：{time}", "Next free time: {time}"),
    "book.booked_note": ("您已挂号成功，预约码 {code}。", "You are booked: booking code {code}."),
    "confirm.hold": ("号源已为您保留，剩余 {time}", "Slot held for you: {time} left"),
    "checkin.step": ("报到", "Check in"),
    "checkin.title": ("请选择要报到的就诊", "Choose the visit to check in"),
    "checkin.none": ("您今天没有可报到的就诊，请先取号", "Nothing to check in today: collect your booking first"),
    "checkin.confirm": ("确认报到", "Check in"),
    "checkin.done": ("报到成功", "Checked in"),
    "checkin.ahead": ("前面还有 {ahead} 人，预计等候 {minutes} 分钟", "{ahead} ahead of you, about {minutes} min"),
    "records.step": ("记录", "Records"),
    "records.title": ("您今天及以后的挂号，今天的缴费", "Your registrations from today on, today's payments"),
    "records.none": ("没有找到您的挂号记录", "No registrations found"),
    "records.reprint": ("补打凭条", "Reprint"),
    "records.fee_paid": ("挂号费", "Registration fee"),
    "records.bills_paid": ("门诊缴费", "Bills paid"),
    "records.receipt_no": ("收据号 {no}", "Receipt {no}"),
    "records.reversed": ("已冲正", "Reversed"),
    "records.method.bank_card": ("银行卡", "Bank card"),
    "records.method.wechat": ("微信", "WeChat Pay"),
    "records.method.alipay": ("支付宝", "Alipay"),
    "records.method.unionpay_qr": ("云闪付", "UnionPay QR"),
    "records.method.insurance_only": ("医保", "Insurance"),
    "records.cancel": ("退号", "Cancel booking"),
    "records.reprinted": ("补打成功", "Reprinted"),
    "records.count": ("本凭条已补打 {count} 次", "Reprint number {count} of this slip"),
    "cancel.title": ("确认退号", "Cancel this booking?"),
    "cancel.confirm": ("确认退号", "Cancel booking"),
    "cancel.warning": ("退号后号源将释放给其他患者，不能恢复", "The slot goes back to others and cannot be restored"),
    "cancel.done": ("退号成功", "Booking cancelled"),
    "cancel.refund": ("已缴挂号费 {fee} 请到收费窗口办理退费", "The fee paid ({fee}) is refunded at the cashier's window"),
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
