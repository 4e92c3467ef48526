"""The kiosk's one config file (TOML), validated at start.

Defaults (no file at all) give the all-simulated demo. A typo or a wrong type stops the start with one
line naming the file and the key, with a "did you mean" hint — never a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.domain.errors import ConfigError

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
MIN_IDLE_TIMEOUT_S = 30
ORIENTATIONS = ("portrait", "landscape")
DEFAULTS_SOURCE = "(built-in defaults)"


@dataclass(frozen=True)
class KioskSection:
    id: str = "K01"
    hospital_name: str = "示范医院"
    hospital_name_en: str = "Demonstration Hospital"
    """The header in English. A file that names its hospital but no English name shows hospital_name."""
    language: str = "zh_CN"
    idle_timeout_s: int = 60
    """Seconds without a touch before the screen is cleared."""
    data_dir: str = "/var/lib/kiosk"
    """Journal and cache directory."""
    fullscreen: bool = False
    orientation: str = "portrait"
    """The windowed size: "portrait" 1080x1920 or "landscape" 1920x1080 (cut to the screen); full screen
    follows the screen, whichever way it stands."""
    voice: bool = False
    """Speak each screen's prompt; elder mode (长辈模式) always speaks."""
    voice_dir: str = ""
    """The hospital's recorded prompts, `<voice_dir>/<lang>/<prompt-id>.wav`; empty = the shipped ones."""
    admin_pin: str = "000000"
    automation_port: int = 0
    """The tester automation port on 127.0.0.1 (AUTOMATION.md); 0 = off."""
    automation_token: str = ""
    """When set, every automation request needs `Authorization: Bearer <token>`."""
    recovery_interval_s: float = 30.0
    """Seconds between recovery passes while journal entries stay open."""


@dataclass(frozen=True)
class HisSection:
    url: str = "http://127.0.0.1:8700/api/v1"
    token: str = "demo-kiosk-token"
    timeout_s: float = 5.0
    """Seconds to wait for one HTTP answer."""


@dataclass(frozen=True)
class IdCardSection:
    driver: str = "sim"
    device: str = "/dev/ttyUSB0"
    baudrate: int = 115200
    poll_interval_s: float = 0.2


@dataclass(frozen=True)
class InsuranceSection:
    driver: str = "sim"
    reader: str = ""
    """Part of the PC/SC reader name; empty = the first reader."""


@dataclass(frozen=True)
class PrinterSection:
    driver: str = "sim"
    host: str = "127.0.0.1"
    port: int = 9100
    device: str = "/dev/ttyUSB1"
    baudrate: int = 19200
    vendor_id: int = 0
    product_id: int = 0
    timeout_s: float = 5.0
    confirm_print: bool = True
    """Wait for the printer's GS r answer (sent after the cut) before calling a print done. A printer that
    never answers GS r is detected on its first job and trusted on its DLE EOT status from then on."""


@dataclass(frozen=True)
class PaymentSection:
    driver: str = "sim"
    device: str = "/dev/ttyS1"
    baudrate: int = 9600
    t1_s: float = 0.5
    t2_s: float = 5.0
    t4_s: float = 120.0


@dataclass(frozen=True)
class ScannerSection:
    driver: str = "sim"
    device: str = "/dev/ttyACM0"
    baudrate: int = 9600


@dataclass(frozen=True)
class ReconcileSection:
    daily_at: str = ""
    """When the daily 对账 runs (hospital time, HH:MM, e.g. "23:30" after the day's last payment); "" = never
    (the default: the demo and the tests never settle a batch behind a tester's back)."""
    settle: bool = True
    """The daily run settles the terminal's batch (ECR 05) before matching."""
    out_dir: str = ""
    """Where reports are kept; empty = <kiosk.data_dir>/reconcile."""

    def time(self) -> dt.time | None:
        return dt.time.fromisoformat(self.daily_at) if self.daily_at else None


@dataclass(frozen=True)
class DevicesSection:
    idcard: IdCardSection = field(default_factory=IdCardSection)
    insurance: InsuranceSection = field(default_factory=InsuranceSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    payment: PaymentSection = field(default_factory=PaymentSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)


@dataclass(frozen=True)
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    his: HisSection = field(default_factory=HisSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    reconcile: ReconcileSection = field(default_factory=ReconcileSection)
    source: str = DEFAULTS_SOURCE

    def redacted(self) -> dict[str, Any]:
        """The effective config as a dict with secrets hidden (for `kiosk config --show`, logs)."""
        data = dataclasses.asdict(self)
        data["his"]["token"] = "***"
        data["kiosk"]["admin_pin"] = "***"
        if data["kiosk"]["automation_token"]:
            data["kiosk"]["automation_token"] = "***"
        return data


DRIVERS: dict[str, tuple[str, ...]] = {
    "idcard": ("sim", "ga467-serial"),
    "insurance": ("sim", "pcsc"),
    "printer": ("sim", "escpos-network", "escpos-serial", "escpos-usb"),
    "payment": ("sim", "ecr-serial"),
    "scanner": ("sim", "serial-scanner", "hid-scanner"),
}
LANGUAGES = ("zh_CN", "en")


def _build(cls: type, raw: Any, where: str, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{where}] must be a table, not {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            hint = difflib.get_close_matches(key, names, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else f" (known keys: {', '.join(names)})"
            raise ConfigError(f"{source}: unknown key '{_join(where, key)}'{suggestion}")
        kwargs[key] = _convert(hints[key], value, _join(where, key), source)
    return cls(**kwargs)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _convert(hint: Any, value: Any, where: str, source: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where, source)
    expected: tuple[type, ...]
    if hint is float:
        expected = (int, float)
    elif isinstance(hint, types.UnionType):
        expected = typing.get_args(hint)
    else:
        expected = (hint,)
    if isinstance(value, bool) and bool not in expected:
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"{source}: '{where}' must be {names}, not {type(value).__name__} ({value!r})")
    return float(value) if hint is float else value


def _check(config: Config) -> None:
    src = config.source
    for device, allowed in DRIVERS.items():
        driver = getattr(config.devices, device).driver
        if driver not in allowed:
            hint = difflib.get_close_matches(driver, allowed, n=1)
            more = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(
                f"{src}: 'devices.{device}.driver' = '{driver}' is not one of {', '.join(allowed)}{more}"
            )
    if config.kiosk.language not in LANGUAGES:
        raise ConfigError(f"{src}: 'kiosk.language' must be one of {', '.join(LANGUAGES)}")
    if config.kiosk.idle_timeout_s < MIN_IDLE_TIMEOUT_S:
        raise ConfigError(f"{src}: 'kiosk.idle_timeout_s' must be at least {MIN_IDLE_TIMEOUT_S} seconds "
                          "(the warning shows 20 s before the screen is cleared)")
    if config.kiosk.orientation not in ORIENTATIONS:
        raise ConfigError(f"{src}: 'kiosk.orientation' must be one of {', '.join(ORIENTATIONS)}")
    if not config.his.url.startswith(("http://", "https://")):
        raise ConfigError(f"{src}: 'his.url' must start with http:// or https://")
    if not 0 <= config.kiosk.automation_port <= 65535:
        raise ConfigError(f"{src}: 'kiosk.automation_port' must be 0 (off) or a port number")
    if config.his.timeout_s <= 0:
        raise ConfigError(f"{src}: 'his.timeout_s' must be positive")
    try:
        config.reconcile.time()
    except ValueError:
        raise ConfigError(f"{src}: 'reconcile.daily_at' must be a time HH:MM (or \"\" for never), "
                          f"not {config.reconcile.daily_at!r}") from None


def parse(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text; ConfigError names the key and the file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    config: Config = _build(Config, raw, "", source)
    config = dataclasses.replace(config, source=source)
    kiosk = raw.get("kiosk", {})
    if "hospital_name" in kiosk and "hospital_name_en" not in kiosk:
        # the demo's English name belongs to no real hospital: show this one's own name instead
        config = dataclasses.replace(config, kiosk=dataclasses.replace(config.kiosk, hospital_name_en=""))
    _check(config)
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
