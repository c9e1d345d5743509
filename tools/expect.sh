#!/usr/bin/env bash
# Test helper: runs a command and checks its exit status and output.
# Usage: expect.sh STATUS REGEX COMMAND...   STATUS: 0 (must succeed) or fail (must exit non-zero);
# REGEX (grep -E) must match stdout+stderr.
want=$1 regex=$2
shift 2
out=$("$@" 2>&1)
status=$?
printf '%s\n' "$out" | tail -40
if [ "$want" = 0 ] && [ "$status" -ne 0 ]; then echo "FAIL: exit status $status, expected 0"; exit 1; fi
if [ "$want" = fail ] && [ "$status" -eq 0 ]; then echo "FAIL: exit status 0, expected an error"; exit 1; fi
if [ "$want" = fail ] && [ "$(printf '%s\n' "$out" | grep -c '^qlinear: ')" -ne 1 ]; then echo "FAIL: expected one 'qlinear: ...' error line"; exit 1; fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then echo "FAIL: output does not match /$regex/"; exit 1; fi
echo "ok: status $status, output matches /$regex/"
