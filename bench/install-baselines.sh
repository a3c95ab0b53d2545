#!/bin/sh
# Installs the servers `npm run bench` compares CityLedger with, when they are missing:
# PostgreSQL 15 and etcd 3.4 from Debian 12 (bookworm). The benchmark starts and stops its own
# throwaway instances (temporary folders, free loopback ports); the packages' system services are
# not needed, and are stopped here when the install started them.
# Usage: npm run bench:install   (as root, or with sudo available)
set -eu

missing=""
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then missing="$missing postgresql"; fi
if ! command -v etcd >/dev/null 2>&1; then missing="$missing etcd-server"; fi
if [ -z "$missing" ]; then
  echo "postgresql and etcd-server are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing:$missing"
$sudo apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
# The benchmark runs its own instances; stop the services the packages may have started.
$sudo service postgresql stop >/dev/null 2>&1 || true
$sudo service etcd stop >/dev/null 2>&1 || true
echo "done"
