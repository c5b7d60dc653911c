# Sourced by bin/test: make sure PostgreSQL, Redis, Chromium, Alertmanager, the PDF libraries and axe-core are there.
# Starts a local installed server that is stopped; otherwise stops with one line
# saying how to get it.

_reachable() {  # host port
  .venv/bin/python - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

_wait_for() {  # name host port
  for _ in $(seq 1 30); do _reachable "$2" "$3" && return 0; sleep 0.5; done
  return 1
}

_ensure_postgres() {
  local host=127.0.0.1 port=5432
  _reachable "$host" "$port" && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting the local PostgreSQL …"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    _wait_for PostgreSQL "$host" "$port" && return 0
  fi
  echo "PostgreSQL is not reachable on $host:$port: install it (apt-get install postgresql) or point TEST_DATABASE_URL at one." >&2
  exit 1
}

_ensure_redis() {
  local host=127.0.0.1 port=6379
  _reachable "$host" "$port" && return 0
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting the local Redis …"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
    _wait_for Redis "$host" "$port" && return 0
  fi
  echo "Redis is not reachable on $host:$port: install it (apt-get install redis-server) or point TEST_REDIS_URL at one." >&2
  exit 1
}

_ensure_chromium() {
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests …"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null
    [ -x /usr/bin/chromium ] && return 0
  fi
  echo "Chromium is needed for the browser tests: apt-get install chromium (or set CHROMIUM_PATH)." >&2
  exit 1
}

_ensure_nginx() {
  # The status page's file path is tested through nginx with the shipped deploy/nginx configuration.
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's nginx-light for the nginx tests …"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light) >/dev/null
    # Debian starts the packaged site on port 80; the tests run their own nginx.
    (service nginx stop || true) >/dev/null 2>&1
    [ -x /usr/sbin/nginx ] && return 0
  fi
  echo "The nginx tests need nginx: apt-get install nginx-light." >&2
  exit 1
}

_ensure_alertmanager() {
  # The live monitoring test runs Alertmanager's own binary against the test server.
  [ -x "${ALERTMANAGER_PATH:-/usr/bin/prometheus-alertmanager}" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's prometheus-alertmanager for the monitoring test …"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager) >/dev/null
    [ -x /usr/bin/prometheus-alertmanager ] && return 0
  fi
  echo "The monitoring test needs Alertmanager: apt-get install prometheus-alertmanager (or set ALERTMANAGER_PATH)." >&2
  exit 1
}

_ensure_pdf_libraries() {
  # WeasyPrint (the post-incident report's PDF) loads Pango; Chinese text needs a CJK font.
  _have_pdf_libraries() { .venv/bin/python -c "import weasyprint" 2>/dev/null && fc-list : family 2>/dev/null | grep "Noto Sans CJK" >/dev/null; }  # no grep -q: under pipefail its early exit fails the pipe
  _have_pdf_libraries && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Pango and the Noto CJK fonts for the PDF reports …"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk) >/dev/null
    _have_pdf_libraries && return 0
  fi
  echo "The PDF reports need Pango and a CJK font: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk." >&2
  exit 1
}

_ensure_axe_core() {
  # The accessibility tests inject axe-core (pinned in package.json) into every public page.
  [ -f node_modules/axe-core/axe.min.js ] && return 0
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's npm for axe-core …"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm) >/dev/null
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "Installing axe-core for the accessibility tests …"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null && return 0
  fi
  echo "axe-core is needed for the accessibility tests: install npm, then run npm ci here." >&2
  exit 1
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then _ensure_postgres; fi
if [ -z "${TEST_REDIS_URL:-}" ]; then _ensure_redis; fi
_ensure_chromium
_ensure_nginx
_ensure_alertmanager
_ensure_pdf_libraries
_ensure_axe_core
