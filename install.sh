#!/bin/sh
# Installs the flywheel binary for this machine (Linux or macOS, x64 or arm64).
#
#   curl -fsSL https://github.com/flywheel-dev/flywheel/releases/latest/download/install.sh | sh
#
# It downloads flywheel-<os>-<arch>.tar.gz and checksums.txt from the release, checks the archive's SHA-256
# against checksums.txt and, when this copy carries the release key and openssl can check Ed25519 (OpenSSL 3),
# the signature checksums.txt.sig; then it test-runs the binary and moves it into place atomically.
# Nothing is installed unless every check passes. The copy of this script attached to each release carries the
# release public key (build.ts fills in RELEASE_PUBLIC_KEY below); the copy in the repository carries none and
# checks SHA-256 only.
#
# Environment:
#   FLYWHEEL_INSTALL_DIR      directory to install `flywheel` into (default: ~/.local/bin)
#   FLYWHEEL_INSTALL_VERSION  release to install, e.g. 1.2.3 (default: the latest)
#   FLYWHEEL_INSTALL_BASE     URL the release files are downloaded from (default: the GitHub release);
#                             must be https (plain http only to a loopback address, for tests and mirrors)
#
# POSIX sh; needs curl or wget, tar with gzip, and sha256sum or shasum. Docs: docs/INSTALL.md.
set -eu

RELEASE_PUBLIC_KEY=''
REPO_URL='https://github.com/flywheel-dev/flywheel'

say() { printf '%s\n' "$*"; }
warn() { printf 'flywheel install: warning: %s\n' "$*" >&2; }
die() {
  printf 'flywheel install: %s\n' "$*" >&2
  exit 1
}
has() { command -v "$1" >/dev/null 2>&1; }

# Sets $platform (linux-x64, darwin-arm64, ...) from uname.
detect_platform() {
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "no flywheel binary is published for $(uname -s) (Linux and macOS only); build it from source: $REPO_URL" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no flywheel binary is published for $(uname -m) (x64 and arm64 only); build it from source: $REPO_URL" ;;
  esac
  # A shell translated by Rosetta 2 sees x86_64; the machine runs the arm64 binary natively.
  if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    arch=arm64
  fi
  platform="$os-$arch"
}

# Sets $base: where the release files are, without a trailing slash. Refuses anything but https, except plain
# http to a loopback host (the same rule `flywheel self-update` applies).
resolve_base() {
  if [ -n "${FLYWHEEL_INSTALL_BASE:-}" ]; then
    base=$FLYWHEEL_INSTALL_BASE
  elif [ -n "${FLYWHEEL_INSTALL_VERSION:-}" ]; then
    base="$REPO_URL/releases/download/v${FLYWHEEL_INSTALL_VERSION#v}"
  else
    base="$REPO_URL/releases/latest/download"
  fi
  while [ "${base%/}" != "$base" ]; do base=${base%/}; done
  case "$base" in
    https://*) return 0 ;;
    http://*)
      host=${base#http://}
      host=${host%%/*}
      case "$host" in
        '[::1]' | '[::1]:'*) return 0 ;;
      esac
      host=${host%:*}
      case "$host" in
        localhost) return 0 ;;
        127.*[!0-9.]*) ;;
        127.*) return 0 ;;
      esac
      ;;
  esac
  die "refusing to download from $base: release URLs must be https (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)"
}

check_tools() {
  has curl || has wget || die "needs curl or wget to download"
  has tar || die "needs tar to unpack the archive"
  has sha256sum || has shasum || die "needs sha256sum or shasum to verify the download"
}

# download URL FILE [bar]: fails on any HTTP error; redirects may only go to https.
download() {
  if has curl; then
    if [ "${3:-}" = bar ] && [ -t 2 ]; then
      curl --fail --location --proto-redir '=https' --progress-bar --output "$2" "$1"
    else
      curl --fail --silent --show-error --location --proto-redir '=https' --output "$2" "$1"
    fi
  else
    wget --quiet --output-document="$2" "$1"
  fi
}

sha256_of() {
  if has sha256sum; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

# Checks checksums.txt.sig when this script carries the release key. A release without a signature is refused
# then; an openssl that cannot check Ed25519 (missing, or LibreSSL as macOS ships it) only earns a warning,
# because the SHA-256 check still stands and refusing would leave most Macs unable to install.
verify_signature() {
  if [ -z "$RELEASE_PUBLIC_KEY" ]; then
    say "note: this copy of install.sh carries no release key: checked SHA-256 only"
    return 0
  fi
  download "$base/checksums.txt.sig" "$tmp/checksums.txt.sig" ||
    die "could not download $base/checksums.txt.sig; this installer only installs releases signed with flywheel's release key, so nothing was installed"
  if ! has openssl; then
    warn "openssl not found: checksums.txt.sig not checked (SHA-256 only)"
    return 0
  fi
  printf -- '-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n' "$RELEASE_PUBLIC_KEY" >"$tmp/release.pub"
  if ! openssl pkey -pubin -in "$tmp/release.pub" -noout >/dev/null 2>&1 || ! openssl pkeyutl -help 2>&1 | grep -q -- -rawin; then
    warn "$(openssl version 2>/dev/null || echo openssl) cannot check Ed25519 signatures (OpenSSL 3 can): checksums.txt.sig not checked (SHA-256 only)"
    return 0
  fi
  if ! openssl pkeyutl -verify -pubin -inkey "$tmp/release.pub" -rawin -in "$tmp/checksums.txt" -sigfile "$tmp/checksums.txt.sig" >/dev/null 2>&1; then
    die "checksums.txt.sig is not a valid signature of checksums.txt by flywheel's release key; nothing was installed (the release may have been tampered with: report it at $REPO_URL/issues)"
  fi
  say "verified the Ed25519 signature of checksums.txt"
}

verify_archive() {
  expected=$(awk -v name="$asset" '$2 == name || $2 == ("*" name) { print tolower($1); exit }' "$tmp/checksums.txt")
  [ -n "$expected" ] || die "checksums.txt has no entry for $asset; nothing was installed"
  actual=$(sha256_of "$tmp/$asset")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $asset: expected $expected, got $actual; nothing was installed"
  fi
  say "verified sha256 $expected"
}

# Unpacks `flywheel` and runs `flywheel version` with a minimal environment before anything is moved into place.
unpack_and_try() {
  mkdir "$tmp/unpacked"
  tar -xzf "$tmp/$asset" -C "$tmp/unpacked" flywheel 2>/dev/null || die "$asset holds no file named flywheel; nothing was installed"
  [ -f "$tmp/unpacked/flywheel" ] || die "$asset holds no file named flywheel; nothing was installed"
  chmod 0755 "$tmp/unpacked/flywheel"
  if ! version=$(env -i PATH="$PATH" HOME="${HOME:-/}" FLYWHEEL_NO_UPDATE_CHECK=1 "$tmp/unpacked/flywheel" version 2>&1); then
    die "the downloaded flywheel does not run on this machine ($(printf '%s' "$version" | head -n 1)); nothing was installed (the Linux binaries need glibc)"
  fi
}

# Copies the binary next to its final name, then renames it over: a running flywheel keeps its old file.
install_binary() {
  mkdir -p "$dir" 2>/dev/null || die "cannot create $dir; set FLYWHEEL_INSTALL_DIR to a directory you own"
  stage="$dir/.flywheel.install.$$"
  cp "$tmp/unpacked/flywheel" "$stage" 2>/dev/null ||
    die "cannot write to $dir; set FLYWHEEL_INSTALL_DIR to a directory you own, or run as a user who may write there"
  chmod 0755 "$stage"
  mv -f "$stage" "$dir/flywheel"
  stage=
}

next_steps() {
  say ""
  say "installed $version to $dir/flywheel"
  say ""
  say "Next steps:"
  case ":$PATH:" in
    *":$dir:"*)
      found=$(command -v flywheel 2>/dev/null || true)
      if [ -n "$found" ] && [ "$found" != "$dir/flywheel" ]; then
        say "  # $found comes first on your PATH: remove it, or put $dir before it"
      fi
      ;;
    *)
      say "  export PATH=\"$dir:\$PATH\"    # $dir is not on your PATH: add this line to ~/.profile"
      ;;
  esac
  say "  flywheel --help"
  say "  flywheel serve --config flywheel.yaml    # as a service (systemd, launchd, container): $REPO_URL/blob/main/docs/INSTALL.md"
  say "  flywheel self-update                     # later: install the newest release, verified the same way"
}

main() {
  detect_platform
  resolve_base
  check_tools
  dir=${FLYWHEEL_INSTALL_DIR:-${HOME:?set HOME or FLYWHEEL_INSTALL_DIR}/.local/bin}
  asset="flywheel-$platform.tar.gz"
  stage=
  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t flywheel)
  trap 'rm -rf "$tmp"; [ -z "$stage" ] || rm -f "$stage"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  say "installing flywheel for $platform from $base"
  download "$base/checksums.txt" "$tmp/checksums.txt" || die "could not download $base/checksums.txt; nothing was installed"
  verify_signature
  download "$base/$asset" "$tmp/$asset" bar || die "could not download $base/$asset; nothing was installed"
  verify_archive
  unpack_and_try
  install_binary
  next_steps
}

# Everything runs from here, so a download cut short (curl | sh) cannot run half a script.
main "$@"
