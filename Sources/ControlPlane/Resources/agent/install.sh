#!/bin/sh
# Installs the MZPanel Backups agent on this server and enrolls it with the hub that served this script.
#
#   curl -fsSL @HUB_URL@/install.sh | sudo sh                                   # asks for the token on the terminal
#   curl -fsSL @HUB_URL@/install.sh | sudo sh -s -- --token-file FILE            # automation
#   curl -fsSL @HUB_URL@/install.sh | sudo MZPANEL_ENROLL_TOKEN=… sh            # automation (environment)
#   curl -fsSL @HUB_URL@/install.sh | sudo sh -s -- --uninstall [--purge]
#   curl --cacert ca.pem -fsSL @HUB_URL@/install.sh | sudo sh -s -- --ca-file ca.pem   # a hub certificate from a private CA
#
# Options: --token-file FILE, --account-key FINGERPRINT (or MZPANEL_ACCOUNT_KEY), --ca-file FILE (or
# MZPANEL_CA_FILE: the hub's certificate authority, trusted alone for the download and by the agent), --uninstall, --purge.
# The token is never accepted as an argument: arguments are visible in the process list.
# Running it again is safe: the binary is replaced only when it differs, an enrolled server is not
# enrolled again (unless a token is given), and the daemon is restarted.
set -eu

HUB_URL=@HUB_URL_QUOTED@
SHA256_AMD64='@SHA256_AMD64@'
SHA256_ARM64='@SHA256_ARM64@'

BIN=/usr/local/bin/mzpanel-agent
UNIT=/etc/systemd/system/mzpanel-agent.service
STATE_DIR=/var/lib/mzpanel-agent
PID_FILE=/run/mzpanel-agent.pid
LOG_FILE=/var/log/mzpanel-agent.log

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

TOKEN_FILE=''
ACCOUNT_KEY="${MZPANEL_ACCOUNT_KEY:-}"
CA_FILE="${MZPANEL_CA_FILE:-}"
ACTION=install
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --token-file) [ $# -ge 2 ] || die "--token-file needs a FILE"; TOKEN_FILE="$2"; shift 2 ;;
    --token-file=*) TOKEN_FILE="${1#*=}"; shift ;;
    --account-key) [ $# -ge 2 ] || die "--account-key needs a FINGERPRINT"; ACCOUNT_KEY="$2"; shift 2 ;;
    --account-key=*) ACCOUNT_KEY="${1#*=}"; shift ;;
    --ca-file) [ $# -ge 2 ] || die "--ca-file needs a FILE (the hub's CA certificate, PEM)"; CA_FILE="$2"; shift 2 ;;
    --ca-file=*) CA_FILE="${1#*=}"; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    --token|--token=*) die "the token is not taken as an argument (the process list shows arguments); use --token-file FILE, MZPANEL_ENROLL_TOKEN or type it when asked" ;;
    -h|--help) sed -n '2,13p' "$0" 2>/dev/null || true; exit 0 ;;
    *) die "unknown option $1 (options: --token-file FILE, --account-key FINGERPRINT, --ca-file FILE, --uninstall, --purge)" ;;
  esac
done
if [ -n "$CA_FILE" ]; then
  [ -r "$CA_FILE" ] || die "cannot read the CA file $CA_FILE; give the PEM file of the CA that signed the hub's certificate"
  grep -q 'BEGIN CERTIFICATE' "$CA_FILE" || die "$CA_FILE holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
  case "$CA_FILE" in /*) ;; *) CA_FILE="$(pwd)/$CA_FILE" ;; esac
fi

[ "$(id -u)" = 0 ] || die "run it as root: curl -fsSL $HUB_URL/install.sh | sudo sh"

# systemd as PID 1 (the test sd_booted() makes); without it the daemon is started in the background.
has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# The daemons of this binary: the pid file's, and any other (an upgrade restarts the daemon under a new pid).
agent_pids() {
  for dir in /proc/[0-9]*; do
    command="$(tr '\000' ' ' <"$dir/cmdline" 2>/dev/null || true)"
    case "$command" in "$BIN daemon"*|"$BIN.previous upgrade-guard"*) echo "${dir#/proc/}" ;; esac
  done
}

stop_background_daemon() {
  pids="$(agent_pids)"
  [ -n "$pids" ] || { rm -f "$PID_FILE"; return 0; }
  kill -TERM $pids 2>/dev/null || true
  # The daemon lets runs in progress finish (up to a minute) before it exits.
  i=0
  while [ $i -lt 90 ]; do
    alive=''
    for pid in $pids; do
      # A zombie (state Z) has exited; only its parent has not collected it.
      [ -r "/proc/$pid/stat" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ] && alive=1
    done
    [ -n "$alive" ] || break
    sleep 1; i=$((i + 1))
  done
  rm -f "$PID_FILE"
}

start_background_daemon() {
  stop_background_daemon
  # setsid: its own session, so closing this shell or terminal does not stop it.
  setsid "$BIN" daemon >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  sleep 1
  kill -0 "$(cat "$PID_FILE")" 2>/dev/null || die "the agent daemon did not start; see $LOG_FILE"
  say "the daemon runs in the background (pid $(cat "$PID_FILE"), log $LOG_FILE); no systemd here, so start it at boot yourself: $BIN daemon"
}

uninstall() {
  if has_systemd; then
    systemctl disable --now mzpanel-agent.service >/dev/null 2>&1 || true
    for unit in /etc/systemd/system/mzpanel-job-*.timer; do
      [ -e "$unit" ] && systemctl disable --now "$(basename "$unit")" >/dev/null 2>&1 || true
    done
  fi
  stop_background_daemon
  rm -f "$UNIT" /etc/systemd/system/mzpanel-job-*.timer /etc/systemd/system/mzpanel-job-*.service
  has_systemd && systemctl daemon-reload || true
  rm -f "$BIN" "$BIN.previous" "$BIN.new"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$STATE_DIR" "$LOG_FILE"
    say "the agent is removed, with its state ($STATE_DIR). Remove the server on the hub too."
  else
    say "the agent is removed; its state stays in $STATE_DIR (run again with --uninstall --purge to remove it)"
  fi
}

if [ "$ACTION" = uninstall ]; then uninstall; exit 0; fi

case "$(uname -m)" in
  x86_64|amd64) ARCH=amd64; SHA256="$SHA256_AMD64" ;;
  aarch64|arm64) ARCH=arm64; SHA256="$SHA256_ARM64" ;;
  *) die "there is no agent build for $(uname -m)" ;;
esac
[ -n "$SHA256" ] || die "the hub at $HUB_URL serves no agent build for linux-$ARCH; on the hub, run scripts/build-agent and start mzpanel serve with --agent-dir"
[ "$(uname -s)" = Linux ] || die "the agent runs on Linux only"

# restic does the backups; install it with the system's package manager when it is missing.
if ! command -v restic >/dev/null 2>&1; then
  say "installing restic"
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q restic || { dnf install -y -q epel-release && dnf install -y -q restic; }
  elif command -v yum >/dev/null 2>&1; then
    yum install -y -q epel-release && yum install -y -q restic
  elif command -v zypper >/dev/null 2>&1; then
    zypper --non-interactive install restic
  elif command -v apk >/dev/null 2>&1; then
    apk add restic
  fi
  command -v restic >/dev/null 2>&1 || die "restic is not installed and no package manager installed it; install restic 0.16 or newer and run this again"
fi

# With --ca-file, the hub's certificate must chain to that CA (and to no other).
download() {
  if command -v curl >/dev/null 2>&1; then
    if [ -n "$CA_FILE" ]; then curl -fsSL --cacert "$CA_FILE" -o "$2" "$1"; else curl -fsSL -o "$2" "$1"; fi
  elif command -v wget >/dev/null 2>&1; then
    if [ -n "$CA_FILE" ]; then wget -q --ca-certificate="$CA_FILE" -O "$2" "$1"; else wget -q -O "$2" "$1"; fi
  else die "neither curl nor wget is installed"; fi
}

file_sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [ -x "$BIN" ] && [ "$(file_sha256 "$BIN")" = "$SHA256" ]; then
  say "the agent in $BIN is already this hub's build"
else
  say "downloading the agent from $HUB_URL"
  mkdir -p "$(dirname "$BIN")"
  rm -f "$BIN.new"
  download "$HUB_URL/agent/mzpanel-agent-linux-$ARCH" "$BIN.new"
  got="$(file_sha256 "$BIN.new")"
  if [ "$got" != "$SHA256" ]; then
    rm -f "$BIN.new"
    die "the downloaded agent's SHA-256 is $got, not $SHA256 as this script says; nothing was installed"
  fi
  chmod 0755 "$BIN.new"
  if ! "$BIN.new" --version >/dev/null 2>&1; then
    rm -f "$BIN.new"
    die "the agent does not run on this system: it needs glibc 2.35 or newer, libstdc++ (GCC 12 or newer) and libcurl (Debian 12, Ubuntu 22.04 or newer; apt-get install libcurl4)"
  fi
  mv -f "$BIN.new" "$BIN"
  say "installed $BIN ($("$BIN" --version))"
fi

if has_systemd; then
  say "writing $UNIT"
  # The hub renders its one agent unit here (Resources/agent/mzpanel-agent.service; the package has the same).
  cat >"$UNIT.tmp" <<'UNIT'
@AGENT_UNIT@
UNIT
  mv -f "$UNIT.tmp" "$UNIT"
  systemctl daemon-reload
fi

enrolled() { [ -f "$STATE_DIR/identity.json" ]; }

TOKEN="${MZPANEL_ENROLL_TOKEN:-}"
if [ -z "$TOKEN" ] && [ -n "$TOKEN_FILE" ]; then
  [ -r "$TOKEN_FILE" ] || die "cannot read the token file $TOKEN_FILE"
  TOKEN="$(head -n 1 "$TOKEN_FILE")"
fi
if [ -z "$TOKEN" ] && ! enrolled; then
  # Standard input is this script (curl | sh), so the token is read from the terminal.
  if [ -r /dev/tty ] && { true </dev/tty; } 2>/dev/null; then
    printf 'Enrollment token (from the server page or `mzpanel servers add`): ' >/dev/tty
    stty -echo </dev/tty 2>/dev/null || true
    IFS= read -r TOKEN </dev/tty || true
    stty echo </dev/tty 2>/dev/null || true
    printf '\n' >/dev/tty
  fi
  [ -n "$TOKEN" ] || die "no enrollment token: type it when asked, or give --token-file FILE or MZPANEL_ENROLL_TOKEN"
fi

if [ -n "$TOKEN" ]; then
  say "enrolling with $HUB_URL"
  set -- enroll --url "$HUB_URL" --token-file -
  enrolled && set -- "$@" --force
  has_systemd || set -- "$@" --no-systemd
  [ -n "$ACCOUNT_KEY" ] && set -- "$@" --account-key "$ACCOUNT_KEY"
  [ -n "$CA_FILE" ] && set -- "$@" --ca-file "$CA_FILE"
  # printf is the shell's built-in: the token reaches the agent on standard input, never in argv.
  printf '%s\n' "$TOKEN" | "$BIN" "$@"
  TOKEN=''
else
  say "already enrolled ($STATE_DIR); give a token to enroll again"
fi

if has_systemd; then
  systemctl enable mzpanel-agent.service >/dev/null 2>&1
  systemctl restart mzpanel-agent.service
  say "mzpanel-agent.service is enabled and running (journalctl -u mzpanel-agent)"
else
  start_background_daemon
fi
say "done: the server shows as online on the hub"
