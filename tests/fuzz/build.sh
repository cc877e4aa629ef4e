#!/bin/sh
# tests/fuzz/build.sh [OUTDIR] - build the libFuzzer decoder target.
#
# Needs clang with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev).
# The whole library is compiled with coverage and ASan+UBSan, so the decoder,
# the reply encoders and the INIT path are all instrumented. The normal meson
# build never runs this; the corpus replays there as the fuzz_replay unit test.
# Extra compiler flags may come in CFLAGS. See tests/fuzz/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build-fuzz}
cc=${CC:-clang}

mkdir -p "$out"
# shellcheck disable=SC2086 # CFLAGS and the pkg-config output are word lists
$cc -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Wno-unused-parameter ${CFLAGS:-} \
	-I"$root/include" -I"$root/lib" \
	"$root"/lib/*.c "$here/fuzz_decoder.c" \
	-o "$out/fuzz_decoder" $(pkg-config --libs liburing) -lpthread
echo "built $out/fuzz_decoder"
