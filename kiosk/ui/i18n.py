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
    "task.payment_closed": ("自助缴费暂停，请到人工窗口缴费", "Unavailable: please pay at a staffed window"),
    "pay.step.identify": ("识别身份", "Identify"),
    "pay.step.bills": ("选择账单", "Bills"),
    "pay.step.pay": ("支付", "Pay"),
    "pay.step.done": ("完成", "Done"),
    "identify.pay_title": ("请刷身份证或插入医保卡", "Place your ID card or insert your insurance card"),
    "identify.pay_others": (
        "也可扫描医保电子凭证或就诊卡",
        "Or scan your medical-insurance e-voucher or your visit card",
    ),
    "bills.title": ("请选择要缴费的账单", "Choose the bills to pay"),
    "bills.none": ("您没有待缴费用", "You have no bills to pay"),
    "bills.none_hint": ("如有疑问请到人工窗口咨询。", "Ask at a staffed window if in doubt."),
    "bills.select_all": ("全选", "Select all"),
    "bills.unselect_all": ("全不选", "Select none"),
    "bills.total": ("已选 {count} 项，合计 {amount}", "{count} selected, total {amount}"),
    "bills.pay": ("去缴费", "Pay"),
    "bills.subtotal": ("小计 {amount}", "Subtotal {amount}"),
    "bill.prescription": ("处方", "Prescription"),
    "bill.lab": ("检验", "Lab test"),
    "bill.imaging": ("检查", "Imaging"),
    "bill.treatment": ("治疗", "Treatment"),
    "bill.registration": ("挂号", "Registration"),
    "split.title": ("医保预结算结果", "Your insurance settlement"),
    "split.total": ("费用合计", "Total"),
    "split.fund": ("医保统筹支付", "Insurance fund (统筹)"),
    "split.account": ("个人账户支付", "Personal account"),
    "split.self_pay": ("需自费支付", "You pay"),
    "split.continue": ("去支付自费部分", "Pay my part"),
    "split.settle": ("确认医保结算", "Confirm settlement"),
    "split.all_covered": ("本次费用全部由医保支付，无需刷卡。", "Insurance covers everything: nothing to pay here."),
    "method.title": ("请选择支付方式", "Choose how to pay"),
    "method.amount": ("应付金额 {amount}", "Amount due {amount}"),
    "method.fee": ("挂号费待缴 {amount}", "Registration fee due {amount}"),
    "method.card": ("银行卡", "Bank card"),
    "method.scan": ("付款码（微信/支付宝）", "WeChat / Alipay code"),
    "method.show_qr": ("手机扫码支付", "Scan a QR with your phone"),
    "method.later": ("到人工窗口缴费", "Pay at a staffed window"),
    "card.title": ("请在支付终端上操作", "Follow the payment terminal"),
    "card.waiting": ("正在连接支付终端…", "Connecting to the payment terminal…"),
    "card.INSERT_CARD": ("请插入或挥动银行卡", "Insert or tap your bank card"),
    "card.ENTER_PIN": ("请在密码键盘上输入密码", "Enter your PIN on the keypad"),
    "card.PROCESSING": ("交易处理中，请稍候", "Processing, please wait"),
    "card.REMOVE_CARD": ("请取回您的银行卡", "Please take your card"),
    "card.keep": ("支付进行中，请勿离开", "Payment in progress: please stay"),
    "scan.title": ("请出示付款码", "Show your payment code"),
    "scan.hint": (
        "打开微信或支付宝的“付款码”，对准扫码口",
        "Open the payment code in WeChat or Alipay and hold it to the scanner",
    ),
    "scan.confirm": ("请在手机上确认付款", "Please confirm the payment on your phone"),
    "qr.title": ("请用手机扫码支付", "Scan this code with your phone to pay"),
    "qr.countdown": ("二维码 {seconds} 秒后失效", "The code expires in {seconds} s"),
    "qr.order": ("订单号 {order}", "Order {order}"),
    "pay.amount": ("支付金额 {amount}", "Amount {amount}"),
    "pay.working": ("正在支付，请稍候…", "Paying, please wait…"),
    "pay.recording": ("正在入账，请稍候…", "Recording your payment…"),
    "pay.undoing": ("正在撤销扣款，请稍候…", "Reversing the charge…"),
    "busy.bills": ("正在查询账单，请稍候…", "Fetching your bills…"),
    "busy.presettle": ("正在医保预结算，请稍候…", "Settling with your insurance…"),
    "printing.title": ("正在打印缴费凭条", "Printing your receipt"),
    "printing.hint": ("请稍候，打印完成后请取走凭条", "Please wait and take your receipt"),
    "paid.title": ("缴费成功", "Paid"),
    "paid.amount": ("本次支付 {amount}（{method}）", "Paid {amount} ({method})"),
    "paid.receipt": ("收据号 {receipt}", "Receipt no. {receipt}"),
    "paid.next": ("下一步：\n{steps}", "Next:\n{steps}"),
    "paid.reprint": ("补打凭条", "Reprint receipt"),
    "payerror.retry": ("换一种方式支付", "Pay another way"),
    "payerror.relist": ("重新查看账单", "Check my bills again"),
    "paymethod.bank_card": ("银行卡", "bank card"),
    "paymethod.wechat": ("微信支付", "WeChat Pay"),
    "paymethod.alipay": ("支付宝", "Alipay"),
    "paymethod.unionpay_qr": ("云闪付", "UnionPay QR"),
    "paymethod.insurance_only": ("医保结算", "insurance"),
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
