"""The kiosk's one config file (TOML), validated at start.

Each section is a pydantic dataclass (strict types, unknown keys refused). Defaults (no file at all)
give the all-simulated demo. A typo or a wrong type stops the start with one line naming the file and
the key, with a "did you mean" hint — never a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import tomllib
from dataclasses import field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic import dataclasses as pydantic_dataclasses

from kiosk.domain.errors import ConfigError

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
MIN_IDLE_TIMEOUT_S = 30
DEFAULTS_SOURCE = "(built-in defaults)"

# pydantic dataclasses: validated on construction (also by dataclasses.replace), typos refused.
dataclass = pydantic_dataclasses.dataclass(frozen=True, config=ConfigDict(extra="forbid"))


@dataclass
class KioskSection:
    id: StrictStr = "K01"
    hospital_name: StrictStr = "示范医院"
    hospital_name_en: StrictStr = "Demonstration Hospital"
    """The header in English. A file that names its hospital but no English name shows hospital_name."""
    language: Literal["zh_CN", "en"] = "zh_CN"
    idle_timeout_s: StrictInt = 60
    """Seconds without a touch before the screen is cleared (at least MIN_IDLE_TIMEOUT_S in a file)."""
    data_dir: StrictStr = "/var/lib/kiosk"
    """Journal, cache and metrics textfile directory."""
    fullscreen: StrictBool = False
    orientation: Literal["portrait", "landscape"] = "portrait"
    """The windowed size: "portrait" 1080x1920 or "landscape" 1920x1080 (cut to the screen); full screen
    follows the screen, whichever way it stands."""
    voice: StrictBool = False
    """Speak each screen's prompt; elder mode (长辈模式) always speaks."""
    voice_dir: StrictStr = ""
    """The hospital's recorded prompts, `<voice_dir>/<lang>/<prompt-id>.wav`; empty = the shipped ones."""
    staffed_window: StrictStr = "一楼门诊大厅人工服务窗口"
    """Where patients are sent when the kiosk is out of service (shown on 暂停服务)."""
    metrics_port: StrictInt = Field(default=9108, ge=0, le=65535)
    """Prometheus scrape port on 127.0.0.1; 0 = no HTTP endpoint (the textfile is still written)."""
    automation_port: StrictInt = Field(default=0, ge=0, le=65535)
    """The tester automation port on 127.0.0.1 (AUTOMATION.md); 0 = off."""
    automation_token: StrictStr = ""
    """When set, every automation request needs `Authorization: Bearer <token>`."""
    registration_pay_later: bool = True
    """预约挂号: the hospital lets the fee be paid later (at collection); false needs payment at booking."""
    recovery_interval_s: float = 30.0
    """Seconds between recovery passes while journal entries stay open."""
    satisfaction: StrictBool = False
    """After a task's result, ask 满意 / 一般 / 不满意 (one tap, or ignored); counted per task, no patient data."""


@dataclass
class AdminSection:
    pin_hash: StrictStr = ""
    """The technician PIN as a salted scrypt hash (written by `kiosk admin set-pin`); empty = no
    technician entry on the screen at all."""


@dataclass
class HisSection:
    url: StrictStr = Field(default="http://127.0.0.1:8700/api/v1", pattern=r"^https?://")
    token: StrictStr = "demo-kiosk-token"
    timeout_s: StrictFloat = Field(default=5.0, gt=0)
    """Seconds to wait for one HTTP answer."""


@dataclass
class IdCardSection:
    driver: Literal["sim", "ga467-serial"] = "sim"
    device: StrictStr = "/dev/ttyUSB0"
    baudrate: StrictInt = 115200
    poll_interval_s: StrictFloat = 0.2


@dataclass
class InsuranceSection:
    driver: Literal["sim", "pcsc"] = "sim"
    reader: StrictStr = ""
    """Part of the PC/SC reader name; empty = the first reader."""


@dataclass
class PrinterSection:
    driver: Literal["sim", "escpos-network", "escpos-serial", "escpos-usb"] = "sim"
    host: StrictStr = "127.0.0.1"
    port: StrictInt = 9100
    device: StrictStr = "/dev/ttyUSB1"
    baudrate: StrictInt = 19200
    vendor_id: StrictInt = 0
    product_id: StrictInt = 0
    timeout_s: StrictFloat = 5.0
    poll_interval_s: StrictFloat = 1.0
    """Seconds between DLE EOT status polls while idle: paper out or a closed cover reaches the home
    screen within this (four 3-byte requests each time, nothing a printer notices)."""
    confirm_print: StrictBool = True
    """Wait for the printer's GS r answer (sent after the cut) before calling a print done. A printer that
    never answers GS r is detected on its first job and trusted on its DLE EOT status from then on."""


@dataclass
class PaymentSection:
    driver: Literal["sim", "ecr-serial"] = "sim"
    device: StrictStr = "/dev/ttyS1"
    baudrate: StrictInt = 9600
    t1_s: StrictFloat = 0.5
    t2_s: StrictFloat = 5.0
    t4_s: StrictFloat = 120.0


@dataclass
class ScannerSection:
    driver: Literal["sim", "serial-scanner", "hid-scanner"] = "sim"
    device: StrictStr = "/dev/ttyACM0"
    baudrate: StrictInt = 9600


@dataclass
class ReconcileSection:
    daily_at: StrictStr = Field(default="", pattern=r"^(|([01][0-9]|2[0-3]):[0-5][0-9])$")
    """When the daily 对账 runs (hospital time, HH:MM, e.g. "23:30" after the day's last payment); "" = never
    (the default: the demo and the tests never settle a batch behind a tester's back)."""
    settle: StrictBool = True
    """The daily run settles the terminal's batch (ECR 05) before matching."""
    out_dir: StrictStr = ""
    """Where reports are kept; empty = <kiosk.data_dir>/reconcile."""

    def time(self) -> dt.time | None:
        return dt.time.fromisoformat(self.daily_at) if self.daily_at else None


@dataclass
class DevicesSection:
    idcard: IdCardSection = field(default_factory=IdCardSection)
    insurance: InsuranceSection = field(default_factory=InsuranceSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    payment: PaymentSection = field(default_factory=PaymentSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)


@dataclass
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    admin: AdminSection = field(default_factory=AdminSection)
    his: HisSection = field(default_factory=HisSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    reconcile: ReconcileSection = field(default_factory=ReconcileSection)
    source: StrictStr = DEFAULTS_SOURCE

    def redacted(self) -> dict[str, Any]:
        """The effective config as a dict with secrets hidden (for `kiosk config --show`, logs)."""
        data = dataclasses.asdict(self)
        data["his"]["token"] = "***"
        data["admin"]["pin_hash"] = "***" if self.admin.pin_hash else ""
        if data["kiosk"]["automation_token"]:
            data["kiosk"]["automation_token"] = "***"
        return data


_CONFIG = TypeAdapter(Config)
_TYPE_NAMES = {"int_type": "int", "float_type": "int or float", "string_type": "str", "bool_type": "bool"}
_MOVED = {"kiosk.admin_pin": "the PIN is no longer kept in plain text: set it with `kiosk admin set-pin`"}


def _section_class(loc: tuple[Any, ...]) -> Any:
    """The dataclass that holds the key at `loc` (the key itself is the last item)."""
    cls: Any = Config
    for part in loc[:-1]:
        cls = {f.name: f.type for f in dataclasses.fields(cls)}[part]
        cls = globals()[cls] if isinstance(cls, str) else cls
    return cls


def _describe(error: Any) -> str:
    """One pydantic error as today's one-line message: the key, what is wrong, and a hint."""
    loc = tuple(str(part) for part in error["loc"])
    where = ".".join(loc)
    kind, value = error["type"], error.get("input")
    if kind == "unexpected_keyword_argument":
        if where in _MOVED:
            return f"'{where}': {_MOVED[where]}"
        names = [f.name for f in dataclasses.fields(_section_class(loc)) if f.name != "source"]
        hint = difflib.get_close_matches(loc[-1], names, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else f" (known keys: {', '.join(names)})"
        return f"unknown key '{where}'{suggestion}"
    if kind == "dataclass_type":
        return f"[{where}] must be a table, not {type(value).__name__}"
    if kind in _TYPE_NAMES:
        return f"'{where}' must be {_TYPE_NAMES[kind]}, not {type(value).__name__} ({value!r})"
    if kind == "literal_error":
        allowed = [part.strip(" '") for part in error["ctx"]["expected"].replace(" or ", ", ").split(",")]
        hint = difflib.get_close_matches(str(value), allowed, n=1)
        more = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"'{where}' = '{value}' is not one of {', '.join(allowed)}{more}"
    if kind == "string_pattern_mismatch" and loc == ("his", "url"):
        return "'his.url' must start with http:// or https://"
    return f"'{where}' = {value!r}: {error['msg'].lower()}"


def parse(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text; ConfigError names the key and the file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if "source" in raw:
        raise ConfigError(f"{source}: unknown key 'source'")
    try:
        config = _CONFIG.validate_python({**raw, "source": source})
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc.errors()[0])}") from None
    if config.kiosk.idle_timeout_s < MIN_IDLE_TIMEOUT_S:
        raise ConfigError(f"{source}: 'kiosk.idle_timeout_s' must be at least {MIN_IDLE_TIMEOUT_S} seconds "
                          "(the warning shows 20 s before the screen is cleared)")
    kiosk = raw.get("kiosk", {})
    if "hospital_name" in kiosk and "hospital_name_en" not in kiosk:
        # the demo's English name belongs to no real hospital: show this one's own name instead
        config = dataclasses.replace(config, kiosk=dataclasses.replace(config.kiosk, hospital_name_en=""))
    return config


def load(path: Path | None) -> Config:
    """Load `path`; with None, the default file if it exists, else the built-in demo defaults."""
    if path is None:
        if not DEFAULT_PATH.exists():
            return Config()
        path = DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8") from None
    return parse(text, str(path))
