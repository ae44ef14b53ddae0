#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (make fuzz). A target fails on a
# finding: a crasher written to its testdata/fuzz directory, or any failure
# that recurs. Go's fuzzing coordinator can also fail a clean run with a bare
# "context deadline exceeded" when -fuzztime ends while a starved worker is
# mid-call (a known race on loaded machines, no input involved): such a run
# is retried once, and fails if it happens again.
set -euo pipefail
fuzztime="${1:-15s}"

targets=(
  "FuzzRoutes ./webhook/fuzz/"
  "FuzzLoad ./config/"
  "FuzzFields ./internal/lib/decode/"
  "FuzzReviewHandler ./internal/app/server/"
  "FuzzValid ./internal/lib/jsonscan/"
  "FuzzProject ./internal/lib/jsonscan/"
  "FuzzParse ./webhook/netpol/calicoselector/"
)

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for entry in "${targets[@]}"; do
  read -r target pkg <<<"$entry"
  for attempt in 1 2; do
    before="$(git status --porcelain --untracked-files=all -- "$pkg/testdata/fuzz/$target" 2>/dev/null | wc -l)"
    echo "go test -run '^\$' -fuzz '^$target\$' -fuzztime $fuzztime $pkg"
    if go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
      break
    fi
    after="$(git status --porcelain --untracked-files=all -- "$pkg/testdata/fuzz/$target" 2>/dev/null | wc -l)"
    if [[ "$after" != "$before" ]] || ! grep -q '^    context deadline exceeded$' "$log" || [[ $attempt == 2 ]]; then
      echo "make fuzz: $target failed" >&2
      exit 1
    fi
    echo "make fuzz: $target stopped on the fuzzing coordinator's deadline race with no input written; running it again"
  done
done
