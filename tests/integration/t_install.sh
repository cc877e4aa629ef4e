#!/usr/bin/env bash
# t_install.sh - `meson install --destdir` of the build FURI belongs to puts
# every file under the configured prefix, where that prefix's directories
# say (furi, libfuri, the header, the pkg-config file, the mount(8) helper in
# sbindir, the man pages), and nothing outside it; the installed furi runs
# (--version: "furi VERSION" of the project first); a program builds against
# the installed header, library and .pc file alone. The man pages render with
# no groff warning, and they document what the binary offers: every command
# and option (-V, --version) of `furi help`, every -o option and --option of
# `furi help mount`, of each
# filesystem's `furi help FS`, of `furi help status` and `furi help bench` is
# in furi(1); every function of lib/libfuri.map is in libfuri(3) and has its
# own link page, and every handler of struct furi_ops is named there. No
# mount, no root needed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=$(cd "$(dirname "$FURI")/.." 2>/dev/null && pwd)
[ -x "$FURI" ] && [ -f "$BUILD/build.ninja" ] || t_skip_all "no meson build around $FURI (build first)"
command -v jq >/dev/null || t_skip_all "jq is not installed (scripts/setup installs it)"

# ---------------------------------------------------------------------------
# The install

dest=$T_DIR/dest
out=$(meson install -C "$BUILD" --no-rebuild --quiet --destdir "$dest" 2>&1)
assert_eq install/exit-status 0 "$?" || t_log "$out"

# option NAME: the value of a meson option of this build (prefix, bindir, ...)
build_options=$(meson introspect "$BUILD" --buildoptions)
option() { jq -r --arg n "$1" '.[] | select(.name == $n) | .value' <<<"$build_options"; }
prefix=$(option prefix)
dir_of() {	# dir_of OPTION: absolute directory (relative ones are under the prefix)
	local d
	d=$(option "$1")
	[[ "$d" == /* ]] && echo "$d" || echo "$prefix/$d"
}
bindir=$(dir_of bindir) sbindir=$(dir_of sbindir) libdir=$(dir_of libdir)
includedir=$(dir_of includedir) mandir=$(dir_of mandir)
t_log "prefix $prefix: bin $bindir, sbin $sbindir, lib $libdir, include $includedir, man $mandir"

assert_cmd install/furi test -x "$dest$bindir/furi"
assert_cmd install/mount-helper-in-sbindir test -x "$dest$sbindir/mount.fuse.furi"
assert_cmd install/libfuri-so test -e "$dest$libdir/libfuri.so.0"
assert_cmd install/header test -f "$dest$includedir/furi/furi.h"
assert_cmd install/pkg-config test -f "$dest$libdir/pkgconfig/furi.pc"
for page in man1/furi.1 man1/furi-mount.1 man8/mount.fuse.furi.8 man3/libfuri.3; do
	assert_cmd "install/$page" test -f "$dest$mandir/$page"
done
outside=$(cd "$dest" && find . \( -type f -o -type l \) ! -path "./${prefix#/}/*" | head -5)
assert_eq install/nothing-outside-the-prefix "" "$outside"
# furi --version: first "furi VERSION" (the project's), then the FUSE
# protocol, io_uring and liburing lines, the same as the build's binary.
version_out=$("$dest$bindir/furi" --version)
assert_eq install/installed-furi-runs \
	"furi $(meson introspect "$BUILD" --projectinfo | jq -r .version)" "$(head -1 <<<"$version_out")"
assert_eq install/installed-furi-version-lines "$("$FURI" --version)" "$version_out"

# A program built against the installed files alone: the .pc file's flags
# (with the destdir as sysroot), the header, the shared library.
if command -v pkg-config >/dev/null && command -v cc >/dev/null; then
	flags=$(PKG_CONFIG_PATH="$dest$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest" \
		pkg-config --cflags --libs furi)
	# shellcheck disable=SC2086 # flags are words
	assert_cmd install/hellofs-builds-against-installed-files \
		cc -o "$T_DIR/hellofs" "$T_ROOT/examples/hellofs.c" $flags
	assert_eq install/pc-prefix "$prefix" "$(PKG_CONFIG_PATH="$dest$libdir/pkgconfig" \
		pkg-config --variable=prefix furi)"
else
	t_skip install/hellofs-builds-against-installed-files "no pkg-config or cc"
fi

# ---------------------------------------------------------------------------
# The pages render without a warning

if ! command -v groff >/dev/null; then
	t_skip man "groff is not installed (scripts/setup installs groff-base)"
	t_done
fi
man_dir=$dest$mandir
for page in man1/furi.1 man8/mount.fuse.furi.8 man3/libfuri.3; do
	warnings=$(groff -man -Tutf8 -ww -z "$man_dir/$page" 2>&1)
	assert_eq "man/$page/no-groff-warnings" "" "$warnings"
done
if command -v man >/dev/null; then
	# man(1) on the installed tree: link pages lead to their page.
	text=$(MANWIDTH=80 man --warnings -M "$man_dir" -P cat furi_session_new 2>&1)
	assert_contains man/link-page-shows-libfuri "$text" "LIBFURI(3)"
	assert_not_contains man/link-page-no-warnings "$text" "warning"
	text=$(MANWIDTH=80 man --warnings -M "$man_dir" -P cat furi-mount 2>&1)
	assert_contains man/furi-mount-shows-furi "$text" "FURI(1)"
fi

# plain PAGE: the page as plain text on one line (no fonts, no line breaks),
# so that "-o queue_depth=N" is found wherever the filling broke the line.
plain() { groff -man -Tascii -P-cbou "$1" 2>/dev/null | tr -s '[:space:]' ' '; }
furi1=$(plain "$man_dir/man1/furi.1")
libfuri3=$(plain "$man_dir/man3/libfuri.3")

# documented NAME TOKEN: TOKEN (an option or a command) is in furi(1), as a
# whole word: "-o ro" does not count for "-o rw".
documented() {
	if grep -qE -- "(^|[^A-Za-z0-9_-])$(sed 's/[.[\*^$]/\\&/g' <<<"$2")([^A-Za-z0-9_]|$)" <<<"$furi1"; then
		t_ok "$1"
	else
		t_not_ok "$1" "'$2' is printed by furi help but missing from man/furi.1"
	fi
}

# Every command of `furi help`: the entries of its "Commands:" block, each on
# a line indented by two spaces (deeper lines continue a description). An
# entry that starts with "-" is an option of furi itself ("-V, --version").
commands_block=$("$FURI" help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on && /^  [^ ]/')
commands=$(awk '$1 !~ /^-/ {print $1}' <<<"$commands_block")
assert_ne man/commands-parsed "" "$commands"
for c in $commands; do
	documented "man/furi.1/command/$c" "furi $c"
done
while read -r o; do
	[ -n "$o" ] && documented "man/furi.1/option/$o" "$o"
done <<<"$(grep -oE -- '^ +-[A-Za-z-]+(, --[a-z-]+)?' <<<"$commands_block" | tr ',' '\n' | tr -d ' ')"

# Every filesystem of `furi help`, and every -o option of furi help mount
# and of each filesystem's help.
filesystems=$("$FURI" help | awk '/^Filesystems:/ {on = 1; next} on && /^$/ {exit} on {print $1}')
assert_ne man/filesystems-parsed "" "$filesystems"
for topic in mount $filesystems; do
	opts=$("$FURI" help "$topic" | grep -oE -- '-o [a-z_0-9]+' | sort -u)
	[ "$topic" = mount ] && assert_ne "man/$topic/options-parsed" "" "$opts"
	while read -r o; do
		[ -n "$o" ] && documented "man/furi.1/$topic/${o#-o }" "$o"
	done <<<"$opts"
	[ "$topic" = mount ] || documented "man/furi.1/filesystem/$topic" "furi mount $topic"
done

# Every option of the commands' own option tables: lines that start with
# "-x", "-x, --long" or "--long".
for topic in mount status bench; do
	while read -r o; do
		[ -n "$o" ] && documented "man/furi.1/$topic/$o" "$o"
	done <<<"$("$FURI" help "$topic" | grep -oE -- '^ +-[a-z-]+(, --[a-z-]+)?' | tr ',' '\n' |
		tr -d ' ' | grep -vx -- '-o' | sort -u)"
done

# Every exported function: in libfuri(3), and its link page installed.
while read -r fn; do
	if grep -qE "(^|[^a-z_])$fn\\(" <<<"$libfuri3" && [ -f "$man_dir/man3/$fn.3" ]; then
		t_ok "man/libfuri.3/$fn"
	else
		t_not_ok "man/libfuri.3/$fn" "exported by lib/libfuri.map but not in man/libfuri.3 or without its link page"
	fi
done <<<"$(grep -oE 'furi_[a-z_]+;' "$T_ROOT/lib/libfuri.map" | tr -d ';')"

# Every handler of struct furi_ops is named in libfuri(3).
ops=$(sed -n '/^struct furi_ops {/,/^};/p' "$T_ROOT/include/furi/furi.h" | grep -oE '\(\*[a-z_]+\)' | tr -d '(*)')
assert_ne man/libfuri.3/ops-parsed "" "$ops"
for op in $ops; do
	if grep -qE "(^|[^a-z_])$op([^a-z_]|$)" <<<"$libfuri3"; then
		t_ok "man/libfuri.3/ops/$op"
	else
		t_not_ok "man/libfuri.3/ops/$op" "struct furi_ops has $op but man/libfuri.3 does not name it"
	fi
done

t_done
