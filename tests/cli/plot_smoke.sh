#!/usr/bin/env bash
# plot_smoke.sh: tools/plot.py on real run files, as one TAP test case.
# Runs configs/smoke.ini for one short epoch with a 2 x 2 corruption grid and
# a two-point sweep of it, then plot.py on the run file and the sweep folder:
# curves.png, severity.png and pareto.png must be non-empty PNG files and
# bits_heatmap.png skipped with its reason (no adaptive method); then a
# three-episode qadapt search from that run and its search_reward.png. Skipped
# when Debian's python3-h5py or python3-matplotlib is missing.
# Environment: QADAPT_BIN, QADAPT_SOURCE_ROOT (meson sets both).
set -u
echo "1..1"
py=/usr/bin/python3
if ! "$py" -c "import h5py, matplotlib" 2>/dev/null; then
    echo "ok 1 - plot.py # SKIP python3-h5py or python3-matplotlib missing"
    exit 0
fi
tmp=$(mktemp -d /tmp/qa_plot_smoke_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "not ok 1 - plot.py: $1"
    sed 's/^/# /' "$tmp/log.txt" 2>/dev/null | tail -20
    exit 1
}
root=$QADAPT_SOURCE_ROOT
small=(--set train.epochs=1 --set data.limit=600 --set data.test_limit=200 --set data.val_fraction=0.2)
printf 'include = %s/configs/smoke.ini\n\n[eval]\ngrid = true\ngrid_corruptions = gaussian_noise, contrast\ngrid_severities = 2, 4\n\n[sweep]\ntrain.lr = 0.05, 0.1\n' \
    "$root" > "$tmp/plot.ini"
"$QADAPT_BIN" run "$tmp/plot.ini" --out "$tmp/run" "${small[@]}" > "$tmp/log.txt" 2>&1 ||
    fail "qadapt run failed"
"$QADAPT_BIN" sweep "$tmp/plot.ini" --out "$tmp/sweep" "${small[@]}" >> "$tmp/log.txt" 2>&1 ||
    fail "qadapt sweep failed"
"$py" "$root/tools/plot.py" --out "$tmp/plots" "$tmp/run/smoke/run.h5" "$tmp/sweep" \
    > "$tmp/plot.txt" 2>> "$tmp/log.txt" || fail "plot.py failed"
cat "$tmp/plot.txt" >> "$tmp/log.txt"
for f in curves severity pareto; do
    png="$tmp/plots/$f.png"
    [ -s "$png" ] || fail "$f.png missing or empty"
    [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
        fail "$f.png is not a PNG file"
    grep -q "wrote $png" "$tmp/plot.txt" || fail "plot.py did not report $f.png"
done
grep -q "skipped bits_heatmap.png: no adaptive-method run" "$tmp/plot.txt" ||
    fail "bits_heatmap.png was not skipped with its reason"
[ ! -e "$tmp/plots/bits_heatmap.png" ] || fail "bits_heatmap.png written without data"
"$QADAPT_BIN" search "$tmp/plot.ini" --out "$tmp/search" "${small[@]}" --set train.epoch_steps=2 \
    --set search.pretrained="$tmp/run/smoke/run.h5" --set search.episodes=3 --set search.warmup=1 \
    --set search.hidden=8 --set search.batch=4 >> "$tmp/log.txt" 2>&1 || fail "qadapt search failed"
"$py" "$root/tools/plot.py" --out "$tmp/plots" "$tmp/search/smoke/search.h5" >> "$tmp/log.txt" 2>&1 ||
    fail "plot.py on a search file failed"
[ "$(head -c 8 "$tmp/plots/search_reward.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "search_reward.png missing or not a PNG file"
"$py" "$root/tools/plot.py" --help | grep -q "accuracy vs severity" || fail "--help"
echo "ok 1 - plot.py: curves, severity and pareto PNGs from a run file and a sweep folder, search_reward from a search file"
