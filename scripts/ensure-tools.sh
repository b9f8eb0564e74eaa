#!/usr/bin/env bash
# ensure-tools.sh installs what weir's tests and demo need, idempotently.
# Usage: scripts/ensure-tools.sh [apt|node|go|cdk|rust|c|all]...
# Fails loudly (non-zero exit, a line naming what failed) when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf 'ensure-tools: %s\n' "$*" >&2; }
die() { printf 'ensure-tools: FAILED: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_updated=""
apt_install() { # apt_install <command-to-check> <package>...
	local check=$1; shift
	if command -v "$check" >/dev/null 2>&1; then return 0; fi
	command -v apt-get >/dev/null 2>&1 || die "$check missing and apt-get is not available; install: $*"
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || die "apt-get update"
		apt_updated=1
	fi
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null || die "apt-get install $*"
	command -v "$check" >/dev/null 2>&1 || die "$check still missing after installing $*"
}

ensure_apt() {
	apt_install wat2wasm wabt
	apt_install dnsmasq dnsmasq-base
	apt_install bzip2 bzip2 # bzip2 test inputs (Go has no bzip2 writer)
	apt_install chromium chromium
}

# apt_install_path <file-to-check> <package>...: like apt_install, for
# packages whose check is a file (a library, or a command that another
# install shadows on PATH, such as rustup's rustc).
apt_install_path() {
	local check=$1; shift
	if [ -e "$check" ]; then return 0; fi
	command -v apt-get >/dev/null 2>&1 || die "$check missing and apt-get is not available; install: $*"
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || die "apt-get update"
		apt_updated=1
	fi
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null || die "apt-get install $*"
	[ -e "$check" ] || die "$check still missing after installing $*"
}

# ensure_rust: Debian's rustc (not rustup's, which may be on PATH) with the
# standard library for wasm32 (sdk/rust, modules/*-rs). crates.io is not
# used: the SDK needs std only.
ensure_rust() {
	apt_install_path /usr/bin/rustc rustc
	apt_install_path /usr/lib/rustlib/wasm32-unknown-unknown/lib libstd-rust-dev-wasm32
}

# ensure_c: clang 14 for wasm32-wasi reactors (sdk/c): lld, wasi-libc and
# the wasm32 compiler runtime.
ensure_c() {
	apt_install_path /usr/bin/clang clang
	apt_install_path /usr/bin/wasm-ld lld
	apt_install_path /usr/lib/wasm32-wasi/libc.a wasi-libc
	local rt='/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a'
	# shellcheck disable=SC2086 # rt is a glob
	if ! ls $rt >/dev/null 2>&1; then
		if [ -z "$apt_updated" ]; then
			$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || die "apt-get update"
			apt_updated=1
		fi
		log "apt-get install libclang-rt-dev-wasm32"
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq libclang-rt-dev-wasm32 >/dev/null || die "apt-get install libclang-rt-dev-wasm32"
		ls $rt >/dev/null 2>&1 || die "$rt still missing after installing libclang-rt-dev-wasm32"
	fi
}

ensure_node() {
	command -v node >/dev/null 2>&1 || apt_install node nodejs npm
	command -v npm >/dev/null 2>&1 || apt_install npm npm
	local dir=$ROOT/tools/node
	if [ -f "$dir/node_modules/.weir-installed" ] && cmp -s "$dir/package.json" "$dir/node_modules/.weir-installed"; then
		return 0
	fi
	log "npm ci in tools/node"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tools/node"
	cp "$dir/package.json" "$dir/node_modules/.weir-installed"
}

# ensure_cdk installs the CDK app's packages (examples/deploy/cdk: aws-cdk-lib,
# the cdk CLI, cdk-nag, TypeScript) with npm ci, once per package-lock.json.
ensure_cdk() {
	command -v node >/dev/null 2>&1 || apt_install node nodejs npm
	command -v npm >/dev/null 2>&1 || apt_install npm npm
	local dir=$ROOT/examples/deploy/cdk
	if [ -f "$dir/node_modules/.weir-installed" ] && cmp -s "$dir/package-lock.json" "$dir/node_modules/.weir-installed"; then
		return 0
	fi
	log "npm ci in examples/deploy/cdk"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in examples/deploy/cdk"
	cp "$dir/package-lock.json" "$dir/node_modules/.weir-installed"
}

ensure_go() {
	local bin
	bin=$(go env GOPATH)/bin
	if [ ! -x "$bin/staticcheck" ]; then
		log "go install staticcheck"
		go install honnef.co/go/tools/cmd/staticcheck@v0.8.2 || die "go install staticcheck"
	fi
	if [ ! -x "$bin/aws-lambda-rie" ]; then
		log "go install aws-lambda-rie"
		go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d || die "go install aws-lambda-rie"
	fi
}

what=${*:-all}
for w in $what; do
	case $w in
	apt) ensure_apt ;;
	node) ensure_node ;;
	go) ensure_go ;;
	cdk) ensure_cdk ;;
	rust) ensure_rust ;;
	c) ensure_c ;;
	all) ensure_apt; ensure_node; ensure_go; ensure_cdk; ensure_rust; ensure_c ;;
	*) die "unknown tool set $w" ;;
	esac
done
