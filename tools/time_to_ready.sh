#!/usr/bin/env bash
# Time to a ready service for a newcomer (issue 17): a fresh clone of this repository's current branch
# into DEST (default /tmp/fresh-run), `make run` in it (a new .venv, the Debian packages check, the
# sample school imported, the models trained the first time), and the seconds until the installation
# is done, until the service answers /healthz and until /readyz (a model loaded, the database answering)
# says ready. Run it as `make time-to-ready`; the service is stopped at the end. Prints a line every
# 30 s while it waits (the last line of `make run`'s output), and the figures at the end.
set -euo pipefail
DEST=${1:-/tmp/fresh-run}
PORT=${JIANFU_PORT:-8765}
REPO=$(git rev-parse --show-toplevel)
BRANCH=$(git -C "$REPO" rev-parse --abbrev-ref HEAD)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD)
rm -rf "$DEST"
git clone --quiet --branch "$BRANCH" "$REPO" "$DEST"
cd "$DEST"
echo "fresh clone of $BRANCH ($COMMIT) in $DEST; make run on port $PORT (output in $DEST/make-run.log)"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
start=$(now)
JIANFU_PORT=$PORT setsid make run >make-run.log 2>&1 &
pid=$!
trap 'kill -- -"$pid" 2>/dev/null || true' EXIT
installed="" healthy="" last=0
while :; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "make run ended before the service was ready:"; tail -20 make-run.log; exit 1
  fi
  if [ -z "$installed" ] && compgen -G ".venv/.installed-*" >/dev/null; then
    installed=$(since "$start"); echo "installed (.venv) after ${installed} s"
  fi
  if [ -z "$healthy" ] && curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
    healthy=$(since "$start"); echo "/healthz answers after ${healthy} s"
  fi
  if [ -n "$healthy" ] && curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
    ready=$(since "$start"); break
  fi
  if [ $(( $(since "$start") - last )) -ge 30 ]; then
    last=$(since "$start"); echo "  … ${last} s: $(tail -c 300 make-run.log | tr '\r' '\n' | grep -v '^\s*$' | tail -1)"
  fi
  sleep 0.5
done
echo "time to a ready service from a fresh clone: ${ready} s (installation ${installed:-?} s, then import, models and start-up $((ready - ${installed:-0})) s)"
