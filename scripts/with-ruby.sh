#!/usr/bin/env bash
# Runs a command with another Ruby first on PATH:
#   scripts/with-ruby.sh /opt/rmp-rubies/ruby-3.4/bin/ruby bash ruby/scripts/test.sh
# Rubies built from source carry no bundled gems, so this lends them
# Debian's pure-Ruby rake, rake-compiler and minitest (by GEM_PATH, as the
# gems they are). From 3.4, ostruct and mutex_m are no longer default gems,
# and Debian's rake 13.0.6 and minitest 5.17 require them: they come from
# Debian's Ruby 3.1 standard library, one file each, through RUBYLIB.
set -euo pipefail
ruby=${1:?usage: with-ruby.sh RUBY COMMAND...}
shift
[ -x "$ruby" ] || { echo "with-ruby.sh: $ruby is not an executable Ruby" >&2; exit 2; }
bindir=$(cd "$(dirname "$ruby")" && pwd)
debian_gems=/usr/share/rubygems-integration/all
export PATH="$bindir:$PATH"
# Added to the Ruby's own gem path, which a bare GEM_PATH would replace.
GEM_PATH="$debian_gems:$(env -u GEM_PATH "$bindir/ruby" -e 'print Gem.path.join(":")')"
export GEM_PATH

missing=$("$bindir/ruby" -e '%w[ostruct mutex_m].each { |l| begin; require l; rescue LoadError; puts l; end }')
if [ -n "$missing" ]; then
  shims=$(mktemp -d "${TMPDIR:-/tmp}/rmp-ruby-shims.XXXXXX")
  trap 'rm -rf "$shims"' EXIT
  for lib in $missing; do
    src=/usr/lib/ruby/3.1.0/$lib.rb
    [ -f "$src" ] || { echo "with-ruby.sh: $lib is missing from this Ruby and $src is not there (Debian's ruby3.1)" >&2; exit 2; }
    ln -s "$src" "$shims/$lib.rb"
  done
  export RUBYLIB="$shims${RUBYLIB:+:$RUBYLIB}"
  # ruby/scripts/test.sh clears RUBYLIB to keep a user's own out; it keeps this.
  export RMP_TEST_RUBYLIB="$RUBYLIB"
fi
"$@"
