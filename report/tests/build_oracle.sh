#!/bin/sh
# Builds the Go pprof oracle offline, from Debian's golang-github-google-pprof-dev.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$tmp/cache" HOME="$tmp" GOFLAGS='' \
  go build -o "$2" "$1"
