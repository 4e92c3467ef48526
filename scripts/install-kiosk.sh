#!/usr/bin/env bash
# Turn a fresh Debian 12 PC into a kiosk: the `kiosk` user, the app in /opt/kiosk (its own venv), the
# config skeleton in /etc/kiosk/, udev rules for stable device names, pcscd, and systemd/kiosk.service,
# which logs `kiosk` in on tty1 at boot and runs the app full screen under the cage Wayland compositor.
#
#   sudo bash scripts/install-kiosk.sh              install on this machine (safe to run again)
#   bash scripts/install-kiosk.sh --root DIR        dry run: write every file under DIR as if it were /,
#                                                   and list the commands it would run in DIR/install-plan.txt
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
ROOT=""
usage() { echo "usage: $0 [--root DIR]" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; ROOT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) usage ;;
  esac
done

APT_PACKAGES=(
  cage                                                  # the Wayland kiosk compositor
  pcscd libccid                                         # PC/SC for the insurance-card reader
  python3-venv python3-dev gcc libpcsclite-dev swig fonts-noto-cjk  # the venv (evdev, pyscard may build), Chinese fonts
  libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libwayland-client0 libwayland-cursor0 libwayland-egl1  # Qt on Wayland
)
PLAN="$ROOT/install-plan.txt"

# In a dry run a command is written to the plan instead of being run; files are always written (under ROOT).
run() {
  if [ -n "$ROOT" ]; then
    printf '%s\n' "$*" >>"$PLAN"
  else
    "$@"
  fi
}

if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install-kiosk: run as root (sudo), or use --root DIR for a dry run" >&2
  exit 1
fi
[ -z "$ROOT" ] || : >"$PLAN"

echo "install-kiosk: system packages"
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}"

echo "install-kiosk: the kiosk user"
if [ -n "$ROOT" ] || ! id kiosk >/dev/null 2>&1; then
  run useradd --system --user-group --home-dir /var/lib/kiosk --shell /usr/sbin/nologin kiosk
fi
run usermod -a -G dialout,input,lp,video,render kiosk

echo "install-kiosk: the app in /opt/kiosk"
mkdir -p "$ROOT/opt/kiosk"
tar -C "$SOURCE" --exclude=.venv --exclude=.git --exclude='__pycache__' --exclude='*.egg-info' --exclude=demo-out \
  -cf - kiosk assets simulators systemd scripts pyproject.toml README.md | tar -C "$ROOT/opt/kiosk" -xf -
run python3 -m venv /opt/kiosk/.venv
run /opt/kiosk/.venv/bin/python -m pip install -q --upgrade pip
run /opt/kiosk/.venv/bin/python -m pip install -q '/opt/kiosk[usb,hid]'
mkdir -p "$ROOT/usr/local/bin"
ln -sfn /opt/kiosk/.venv/bin/kiosk "$ROOT/usr/local/bin/kiosk"   # `kiosk diag` over SSH

echo "install-kiosk: config skeleton in /etc/kiosk"
install -d -m 0755 "$ROOT/etc/kiosk"
if [ ! -e "$ROOT/etc/kiosk/kiosk.toml" ]; then
  install -m 0640 "$SOURCE/systemd/kiosk.toml.example" "$ROOT/etc/kiosk/kiosk.toml"
  run chown root:kiosk /etc/kiosk/kiosk.toml
else
  echo "install-kiosk: keeping the existing /etc/kiosk/kiosk.toml"
fi

echo "install-kiosk: udev rules, pcscd"
install -D -m 0644 "$SOURCE/systemd/99-kiosk.rules" "$ROOT/etc/udev/rules.d/99-kiosk.rules"
run udevadm control --reload
run udevadm trigger
run systemctl enable pcscd.socket

echo "install-kiosk: the kiosk unit (boots into the app on tty1)"
install -D -m 0644 "$SOURCE/systemd/kiosk.service" "$ROOT/etc/systemd/system/kiosk.service"
run systemctl daemon-reload
run systemctl set-default graphical.target
run systemctl disable getty@tty1.service
run systemctl enable kiosk.service

cat <<DONE
install-kiosk: done${ROOT:+ (dry run under $ROOT; commands in $PLAN)}. Next:
  1. edit /etc/kiosk/kiosk.toml (kiosk id, HIS url and token, device drivers and ports)
  2. sudo kiosk admin set-pin      # the technician PIN; without one the technician entry is off
  3. sudo reboot                   # the kiosk starts on tty1; \`kiosk diag\` checks it over SSH
DONE
