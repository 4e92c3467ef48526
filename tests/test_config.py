"""The config file: defaults give the demo; a typo or wrong type names the key and the file."""

from pathlib import Path

import pytest

from kiosk import config
from kiosk.domain.errors import ConfigError


def test_defaults_are_the_all_simulated_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "DEFAULT_PATH", tmp_path / "absent.toml")
    cfg = config.load(None)
    assert cfg.devices.idcard.driver == "sim"
    assert cfg.his.url == "http://127.0.0.1:8700/api/v1"
    assert cfg.kiosk.idle_timeout_s == 60


def test_full_example_file_parses() -> None:
    cfg = config.load(Path(__file__).parents[1] / "systemd" / "kiosk.toml.example")
    assert cfg.devices.idcard.driver == "ga467-serial"
    assert cfg.devices.idcard.baudrate == 115200
    assert cfg.devices.printer.port == 9100
    assert cfg.his.timeout_s == 5.0


def test_typo_names_key_file_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[devices.idcard]\ndriver = "sim"\nbaudrat = 9600\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert str(path) in message and "devices.idcard.baudrat" in message and "did you mean 'baudrate'" in message


def test_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nidle_timeout_s = "sixty"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'kiosk.idle_timeout_s' must be int, not str"):
        config.load(path)


def test_unknown_driver(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[devices.printer]\ndriver = "escpos-netwrok"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'escpos-network'"):
        config.load(path)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[kiosk\nid = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path / "nope.toml")


def test_bool_is_not_an_int(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[devices.printer]\nport = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'devices.printer.port' must be int"):
        config.load(path)


def test_redacted_hides_secrets() -> None:
    shown = config.Config().redacted()
    assert shown["his"]["token"] == "***"
    assert shown["admin"]["pin_hash"] == ""
    assert config.parse('[admin]\npin_hash = "scrypt$x"\n').redacted()["admin"]["pin_hash"] == "***"


def test_plain_text_admin_pin_is_refused_with_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"'kiosk.admin_pin': .*kiosk admin set-pin"):
        config.parse('[kiosk]\nadmin_pin = "000000"\n', "k.toml")


def test_range_and_table_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^k.toml: 'kiosk.metrics_port' = 70000: input should be less"):
        config.parse("[kiosk]\nmetrics_port = 70000\n", "k.toml")
    with pytest.raises(ConfigError, match=r"^k.toml: \[devices.printer\] must be a table, not int"):
        config.parse("[devices]\nprinter = 3\n", "k.toml")
    with pytest.raises(ConfigError, match=r"'his.timeout_s' must be int or float, not str"):
        config.parse('[his]\ntimeout_s = "5"\n', "k.toml")
    with pytest.raises(ConfigError, match=r"'his.url' must start with http"):
        config.parse('[his]\nurl = "ftp://x"\n', "k.toml")


def test_hospital_english_name(tmp_path: Path) -> None:
    """The example sets [kiosk] hospital_name_en; a file that names its own hospital without an English
    name never shows the demo's English name (the header then shows hospital_name in English too)."""
    example = config.load(Path(__file__).parents[1] / "systemd" / "kiosk.toml.example")
    assert example.kiosk.hospital_name_en == "Demonstration Hospital"
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nhospital_name = "北京协和医院"\n', encoding="utf-8")
    assert config.load(path).kiosk.hospital_name_en == ""
    path.write_text('[kiosk]\nhospital_name = "北京协和医院"\nhospital_name_en = "Peking Union Medical College Hospital"\n',
                    encoding="utf-8")
    assert config.load(path).kiosk.hospital_name_en == "Peking Union Medical College Hospital"
