# Shared by the end-to-end tests tests/cli_*.sh (this file is not one: ctest runs only
# cli_*.sh). A script sources it right after `set -u`:
#   source "$(dirname "$0")/harness.sh"
# and ends with `finish`. The script's first argument is the dnacl program ($DNACL); $TMP
# is a scratch directory removed on exit; every check prints one line through pass/fail.

DNACL=${1:?usage: bash $0 /path/to/dnacl}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# run ARGS...: the program's exit status in $rc, stdout in $TMP/out, stderr in $TMP/err
run() { "$DNACL" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }
# need LABEL ARGS...: run a step the rest of the script builds on (a training run, say);
# if it fails, say so with its stderr and stop, since every later check would fail for it.
need() {
  local label=$1
  shift
  run "$@"
  if [ $rc -eq 0 ]; then
    pass "$label"
  else
    fail "$label: exit $rc"
    cat "$TMP/err"
    exit 1
  fi
}
# has ERE FILE: a line of FILE matches the extended regular expression
has() { grep -Eq -- "$1" "$2"; }
# json_num KEY FILE: the first number after "KEY": in FILE
json_num() { grep -o "\"$1\": [-0-9.e]*" "$2" | head -1 | sed 's/.*: //'; }
# finish: the number of failures as the last line, and the script's exit status
finish() {
  echo "$failures failure(s)"
  [ "$failures" -eq 0 ]
}
