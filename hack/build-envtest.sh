#!/usr/bin/env bash
# Builds kube-apiserver and etcd for envtest from the Go module proxy and
# prints the directory to use as KUBEBUILDER_ASSETS.
#
# Prebuilt envtest binaries cannot be downloaded on our build machines, so we
# compile the real ones: kube-apiserver from k8s.io/kubernetes (its staging
# modules replaced by their published v0.Y.Z versions) and etcd from the
# version that Kubernetes release pins. Results are cached per version, so
# this is a no-op after the first run (~10 minutes on 2 cores).
#
# Usage: hack/build-envtest.sh [KUBERNETES_VERSION]   (default 1.37.2)
set -euo pipefail

k8s_version="${1:-${ENVTEST_K8S_VERSION:-1.37.2}}"
k8s_version="${k8s_version#v}"
cache_root="${EKSGUARD_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eksguard/envtest}"
assets="${cache_root}/k8s-${k8s_version}"

started_at="${SECONDS}"
log() { echo "build-envtest: [$((SECONDS - started_at))s] $*" >&2; }
fail() { log "ERROR: $*"; exit 1; }

# with_heartbeat runs a long, quiet command and says every 30 seconds that it
# is still at work, so a first build shows progress instead of silence.
with_heartbeat() {
  local what="$1"
  shift
  (while sleep 30; do log "still ${what}..."; done) &
  local heartbeat=$! status=0
  "$@" || status=$?
  kill "${heartbeat}" 2>/dev/null || true
  wait "${heartbeat}" 2>/dev/null || true
  return "${status}"
}

if [[ -x "${assets}/kube-apiserver" && -x "${assets}/etcd" ]]; then
  echo "${assets}"
  exit 0
fi

command -v go >/dev/null || fail "the go command is not on PATH"
IFS=. read -r major minor patch <<<"${k8s_version}"
[[ -n "${major}" && -n "${minor}" && -n "${patch}" ]] || fail "version '${k8s_version}' is not of the form X.Y.Z"
staging_version="v0.${minor}.${patch}"

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${assets}"
log "kube-apiserver and etcd v${k8s_version} are not in ${assets} yet: building them from the Go module proxy (once)"

# --- kube-apiserver -------------------------------------------------------
log "fetching k8s.io/kubernetes v${k8s_version} metadata"
k8s_gomod="$(go mod download -json "k8s.io/kubernetes@v${k8s_version}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[[ -f "${k8s_gomod}" ]] || fail "could not download k8s.io/kubernetes@v${k8s_version} from the Go module proxy"
go_directive="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${k8s_gomod}")"

mkdir -p "${work}/apiserver"
{
  echo "module eksguard.local/envtest-apiserver"
  echo
  echo "go ${go_directive}"
  echo
  echo "require k8s.io/kubernetes v${k8s_version}"
  echo
  # Every staging module (k8s.io/x => ./staging/src/k8s.io/x) is published as k8s.io/x v0.Y.Z.
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 '"${staging_version}"'#p' "${k8s_gomod}"
} >"${work}/apiserver/go.mod"

ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=v${k8s_version}"
ldflags+=" -X k8s.io/component-base/version.gitMajor=${major}"
ldflags+=" -X k8s.io/component-base/version.gitMinor=${minor}"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v${k8s_version}"

log "resolving kube-apiserver dependencies"
(cd "${work}/apiserver" && GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@v${k8s_version}") \
  || fail "resolving k8s.io/kubernetes/cmd/kube-apiserver failed (see the go output above)"
log "building kube-apiserver v${k8s_version} (about 10 minutes, once)"
build_apiserver() (
  cd "${work}/apiserver" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "${ldflags}" \
    -o "${assets}/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
)
with_heartbeat "building kube-apiserver" build_apiserver \
  || fail "building kube-apiserver failed (see the go output above)"

# --- etcd -------------------------------------------------------------------
etcd_version="$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "${k8s_gomod}" | head -1)"
[[ -n "${etcd_version}" ]] || fail "no go.etcd.io/etcd/server/v3 version in k8s.io/kubernetes go.mod"
mkdir -p "${work}/etcd"
cat >"${work}/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat >"${work}/etcd/go.mod" <<GOMOD
module eksguard.local/envtest-etcd

go ${go_directive}

require go.etcd.io/etcd/server/v3 ${etcd_version}
GOMOD
log "building etcd ${etcd_version} (about 1 minute)"
(cd "${work}/etcd" && GOFLAGS=-mod=mod go mod tidy && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "${assets}/etcd.tmp" .) \
  || fail "building etcd ${etcd_version} failed (see the go output above)"

mv "${assets}/kube-apiserver.tmp" "${assets}/kube-apiserver"
mv "${assets}/etcd.tmp" "${assets}/etcd"
"${assets}/kube-apiserver" --version >&2 || fail "the built kube-apiserver does not run"
log "done: kube-apiserver and etcd in ${assets}"
echo "${assets}"
