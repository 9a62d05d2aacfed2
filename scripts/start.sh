#!/bin/sh
# `npm start -- [options]`: the production server (server/main.ts), or, only when
# --attack is asked for, the test-only adversary (harness/adversary/main.ts),
# so the production entry point never imports attack code.
for a in "$@"; do
  case "$a" in --attack | --attack=*) exec tsx harness/adversary/main.ts "$@" ;; esac
done
[ -z "${E2EE_ATTACK:-}" ] || exec tsx harness/adversary/main.ts "$@"
exec tsx server/main.ts "$@"
