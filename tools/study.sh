#!/bin/sh
# tools/study.sh MODEL: the comparison study of configs/study-fmnist-MODEL.ini
# (issue 19) as one command, run from the folder that holds runs/ (the
# configs name runs/study-fmnist-MODEL-prep/...):
#   1. the fp32 pretrained start (the HAQ search's start, blockrep's teacher):
#      the study config with method fp32, seed 0;
#   2. one HAQ search per budget on it (configs/study-fmnist-MODEL-haq.ini);
#   3. the sweep (method x budget x seed), whose haq points train the
#      searched plans;
#   4. the report (RESULTS.md) and the Pareto figure (pareto.png) in DOCS,
#      of every model's study found under runs/.
# Every step resumes: a finished run or search is kept, the sweep skips its
# complete points. Environment: JOBS (sweep --jobs, default 2), QADAPT (the
# binary, default build/qadapt of this repository), DOCS (default docs/ of
# this repository), SETS (extra --set arguments for every run, e.g.
# "--set data.limit=512" for a smoke test).
set -eu
model=${1:?usage: tools/study.sh small|resnet20}
repo=$(cd "$(dirname "$0")/.." && pwd)
q=${QADAPT:-$repo/build/qadapt}
jobs=${JOBS:-2}
docs=${DOCS:-$repo/docs}
sets=${SETS:-}
cfg=$repo/configs/study-fmnist-$model.ini
prep=runs/study-fmnist-$model-prep
# the budgets of the sweep's haq arms (name:BitOps over 8 x 8 bits), as in
# its [sweep] section
case $model in
small) budgets="b2.5:0.1545 b3:0.1914 b4:0.2944" ;;
resnet20) budgets="b2.5:0.0971 b3:0.1438 b4:0.2527" ;;
*) echo "tools/study.sh: unknown model '$model' (small, resnet20)" >&2; exit 2 ;;
esac
[ -f "$cfg" ] || { echo "tools/study.sh: $cfg: no such config" >&2; exit 2; }

complete() { # a run or search file that ended complete
    [ -f "$1" ] && h5dump -a /status "$1" 2>/dev/null | grep -q '"complete"'
}

# shellcheck disable=SC2086 # $sets holds several words on purpose
if ! complete "$prep/fp32/run.h5"; then
    rm -rf "$prep/fp32"
    "$q" run "$cfg" --out "$prep" --set experiment.name=fp32 --set experiment.method=fp32 \
        --set experiment.seed=0 $sets
fi
for b in $budgets; do
    name=haq-${b%%:*}
    if ! complete "$prep/$name/search.h5"; then
        resume=
        [ -f "$prep/$name/search_ckpt.h5" ] && resume=--resume
        # shellcheck disable=SC2086
        "$q" search "$repo/configs/study-fmnist-$model-haq.ini" --out "$prep" $resume \
            --set experiment.name="$name" --set search.budget="${b#*:}" $sets
    fi
done
# shellcheck disable=SC2086
"$q" sweep "$cfg" --jobs "$jobs" --out "runs/study-fmnist-$model" $sets
# every model's study that has a sweep index, in one report and one figure
dirs=
for m in small resnet20; do
    [ -f "runs/study-fmnist-$m/index.csv" ] && dirs="$dirs runs/study-fmnist-$m"
done
# shellcheck disable=SC2086 # one word per folder
"$q" report --markdown $dirs > "$docs/RESULTS.md"
# shellcheck disable=SC2086
/usr/bin/python3 "$repo/tools/plot.py" --study "$docs/pareto.png" $dirs
