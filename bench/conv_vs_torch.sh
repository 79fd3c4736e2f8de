#!/bin/sh
# conv_vs_torch.sh [BUILD_DIR]: resnet20's convolutions, shape by shape,
# qadapt (bench_conv) against PyTorch (torch_conv.py), one thread, CPU time,
# ROUNDS (default 3) interleaved rounds; prints the medians over rounds, the
# ratio PyTorch / qadapt (> 1: qadapt is faster), the kernel qadapt runs
# (im2col or winograd; BENCH_ARGS, e.g. "--algo im2col", go to bench_conv),
# the GFLOP/s qadapt reaches (direct-convolution FLOPs: effective for
# Winograd), the time of its GEMMs alone and their share of its time, and
# the totals weighted by how often resnet20 has each shape. A shape where
# qadapt's GEMMs alone take longer than PyTorch's whole convolution is one
# no change outside cblas_sgemm can bring level.
set -eu
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

build=${1:-build}
here=$(dirname "$0")
bench="$build/bench/bench_conv"
rounds=${ROUNDS:-3}
[ -x "$bench" ] || { echo "conv_vs_torch: $bench not found (build it with ninja -C $build)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "conv_vs_torch: $rounds rounds, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$rounds" ]; do
    # shellcheck disable=SC2086
    "$bench" ${BENCH_ARGS:-} | grep '^ROW' >> "$tmp/q"
    /usr/bin/python3 "$here/torch_conv.py" | grep '^ROW' >> "$tmp/t"
    r=$((r + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
function sval(line, key,   s) { s = line; sub(".*" key "=", "", s); sub(" .*", "", s); return s }
function val(line, key) { return sval(line, key) + 0 }
function nm(line,   s) { s = line; sub(/^ROW name="/, "", s); sub(/".*/, "", s); return s }
function median(str,   a, n, i, j, t) {
    n = split(str, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
FNR == 1 { file++ }
{
    k = nm($0)
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k; count[k] = val($0, "count") }
    if (file == 1) { al[k] = sval($0, "algo"); q[k] = q[k] " " val($0, "total_ms"); g[k] = g[k] " " val($0, "gemm_ms"); f[k] = f[k] " " val($0, "gflops") }
    else t[k] = t[k] " " val($0, "total_ms")
}
END {
    printf "%-24s %5s %11s %11s %7s %-8s %8s %11s %10s\n", "convolution", "count", "qadapt ms", "PyTorch ms", "ratio", "kernel", "GFLOP/s", "GEMMs ms", "GEMM share"
    for (i = 1; i <= nk; i++) {
        k = order[i]; qm = median(q[k]); tm = median(t[k]); gm = median(g[k])
        printf "%-24s %5d %11.2f %11.2f %7.2f %-8s %8.1f %11.2f %10.2f\n", k, count[k], qm, tm, tm / qm, al[k], median(f[k]), gm, gm / qm
        qs += count[k] * qm; ts += count[k] * tm; gs += count[k] * gm
    }
    printf "%-24s %5s %11.1f %11.1f %7.2f %-8s %8s %11.1f %10.2f\n", "resnet20 step (weighted)", "", qs, ts, ts / qs, "", "", gs, gs / qs
}' "$tmp/q" "$tmp/t"
echo "(ms: one forward + backward at batch 128, CPU time of one thread; ratio = PyTorch / qadapt)"
