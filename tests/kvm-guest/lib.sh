# shellcheck shell=bash
# Helpers shared by run.sh and build-kvm-modules.sh (sourced, not executed).
# Nothing here changes the system's apt state: every apt call uses a private configuration under the cache.

# The shared cache under /var/cache for root (CI, setup-machine.sh); a user who cannot write there gets their own,
# so `kvmsdk probe` as non-root does not fail on the cache's lock file.
if [ -n "${KVM_GUEST_CACHE:-}" ]; then KG_CACHE=$KVM_GUEST_CACHE
elif [ "$(id -u)" = 0 ] || [ -w /var/cache/kvm-sdk ] || { [ ! -e /var/cache/kvm-sdk ] && [ -w /var/cache ]; }; then KG_CACHE=/var/cache/kvm-sdk
else KG_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kvm-sdk; fi
mkdir -p "$KG_CACHE" 2>/dev/null || true
export PATH=$PATH:/usr/sbin:/sbin

kg_log() { echo "kvm-guest: $*" >&2; }
kg_die() { echo "kvm-guest: ERROR: $*" >&2; exit "${KG_DIE_STATUS:-123}"; }

# The Debian mirror this machine is configured with (deb822 sources first, then one-line sources).
kg_mirror() {
  if [ -n "${KVM_GUEST_MIRROR:-}" ]; then echo "$KVM_GUEST_MIRROR"; return; fi
  local m=""
  [ -r /etc/apt/sources.list.d/debian.sources ] && m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -z "$m" ] && m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '$1=="deb" && $2 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}')
  [ -n "$m" ] || kg_die "no Debian mirror found in the apt configuration"
  echo "$m"
}

# kg_apt SUITE: sets the array APTO to a private apt configuration for SUITE (lists kept under the cache)
# and refreshes its package lists (at most once per process per suite). If the refresh fails but older lists
# exist, they are used with a warning.
declare -A KG_APT_FRESH=()
kg_apt() {
  local s=$1 d=$KG_CACHE/apt/$1
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  echo "deb $(kg_mirror) $s main" > "$d/sources.list"
  APTO=(-o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o Dir::State::Status=/dev/null
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  [ -n "${KG_APT_FRESH[$s]:-}" ] && return 0
  if apt-get "${APTO[@]}" update -qq >"$d/update.log" 2>&1; then KG_APT_FRESH[$s]=1
  elif compgen -G "$d/lists/*Packages*" >/dev/null; then kg_log "WARNING: apt update for $s failed; using older package lists"; KG_APT_FRESH[$s]=1
  else cat "$d/update.log" >&2; kg_die "apt update for $s failed"; fi
}

# kg_apt_download DIR PKG...: download .debs into DIR with the current APTO.
kg_apt_download() {
  local dir=$1; shift
  (cd "$dir" && apt-get "${APTO[@]}" download "$@" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2; exit "${PIPESTATUS[0]}")
}
