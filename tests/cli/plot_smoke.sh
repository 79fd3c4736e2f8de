#!/usr/bin/env bash
# plot_smoke.sh: tools/plot.py on real run files, as one TAP test case.
# Runs configs/smoke.ini for one short epoch with a 2 x 2 corruption grid and
# a two-point sweep of it, then plot.py on the run file and the sweep folder:
# curves.png, severity.png and pareto.png must be non-empty PNG files and
# bits_heatmap.png, ddq_bits.png, metamix_widths.png and blockrep.png skipped
# with their reasons (no adaptive method, no ddq, metamix or blockrep run);
# then a one-epoch method ddq run gives ddq_bits.png, ddq_levels.png and
# ddq_cost.png, a two-epoch metamix run metamix_widths.png, a blockrep run
# with the smoke run as its teacher blockrep.png, and a three-episode qadapt
# search from that run search_reward.png. Skipped
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
grep -q "skipped ddq_bits.png: no method ddq run" "$tmp/plot.txt" ||
    fail "ddq_bits.png was not skipped with its reason"
grep -q "skipped ddq_cost.png: no method ddq run" "$tmp/plot.txt" ||
    fail "ddq_cost.png was not skipped with its reason"
ddq=(--set experiment.method=ddq --set quant.w_quantizer=ddq --set quant.a_quantizer=ddq
     --set ddq.log_every=2 --set experiment.name=ddq)
"$QADAPT_BIN" run "$root/configs/smoke.ini" --out "$tmp/run" "${small[@]}" "${ddq[@]}" \
    >> "$tmp/log.txt" 2>&1 || fail "qadapt run (method ddq) failed"
"$py" "$root/tools/plot.py" --out "$tmp/ddq" "$tmp/run/ddq/run.h5" > "$tmp/ddq.txt" \
    2>> "$tmp/log.txt" || fail "plot.py failed on a ddq run"
cat "$tmp/ddq.txt" >> "$tmp/log.txt"
cat "$tmp/plot.txt" >> "$tmp/log.txt"
for f in plots/curves plots/severity plots/pareto ddq/ddq_bits ddq/ddq_levels \
    ddq/ddq_cost; do
    png="$tmp/$f.png"
    [ -s "$png" ] || fail "$f.png missing or empty"
    [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
        fail "$f.png is not a PNG file"
    grep -q "wrote $png" "$tmp/plot.txt" "$tmp/ddq.txt" || fail "plot.py did not report $f.png"
done
grep -q "skipped metamix_widths.png: no method metamix run" "$tmp/plot.txt" ||
    fail "metamix_widths.png was not skipped with its reason"
"$QADAPT_BIN" run "$root/configs/smoke.ini" --out "$tmp/mm" "${small[@]}" --set train.epochs=2 \
    --set experiment.method=metamix --set metamix.target=0.3 --set metamix.probe=32 \
    >> "$tmp/log.txt" 2>&1 || fail "qadapt run (metamix) failed"
"$py" "$root/tools/plot.py" --out "$tmp/mmplots" "$tmp/mm/smoke/run.h5" > "$tmp/mm.txt" \
    2>> "$tmp/log.txt" || fail "plot.py (metamix) failed"
[ "$(head -c 8 "$tmp/mmplots/metamix_widths.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "metamix_widths.png missing or not a PNG file"
grep -q "skipped blockrep.png: no run has /train/blockrep" "$tmp/plot.txt" ||
    fail "blockrep.png was not skipped with its reason"
"$QADAPT_BIN" run "$root/configs/smoke.ini" --out "$tmp/run" "${small[@]}" \
    --set experiment.name=br --set experiment.method=blockrep \
    --set blockrep.teacher="$tmp/run/smoke/run.h5" >> "$tmp/log.txt" 2>&1 ||
    fail "qadapt run (method blockrep) failed"
"$py" "$root/tools/plot.py" --out "$tmp/brplots" "$tmp/run/br/run.h5" > "$tmp/br.txt" \
    2>> "$tmp/log.txt" || fail "plot.py (blockrep) failed"
[ "$(head -c 8 "$tmp/brplots/blockrep.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "blockrep.png missing or not a PNG file"
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
echo "ok 1 - plot.py: every figure from run files, a sweep folder and a search file"
