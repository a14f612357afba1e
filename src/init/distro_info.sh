#!/bin/sh
# Writes src/init/distro_info.rs from distro-info-data (see that file).
set -eu
    echo "//! Debian and Ubuntu releases: version number ↔ codename, generated from";
    echo "//! Debian's \`distro-info-data\` package (\`$(dpkg-query -W -f='${Version}' distro-info-data)\`):";
    echo "//! \`/usr/share/distro-info/debian.csv\` and \`ubuntu.csv\`. Refresh after";
    echo "//! \`apt-get install distro-info-data\` with \`src/init/distro_info.sh > src/init/distro_info.rs\`.";
    echo "//! Raspbian uses Debian's codenames. Do not edit by hand.";
    echo;
    echo "/// \`(version, codename, release date or \"\")\`; Debian's unnumbered \`sid\` and \`experimental\` are left out.";
    echo "pub const DEBIAN: &[(&str, &str, &str)] = &[";
    tail -n +2 /usr/share/distro-info/debian.csv | awk -F, '$1 != "" { printf "    (\"%s\", \"%s\", \"%s\"),\n", $1, $3, $5 }';
    echo "];";
    echo;
    echo "/// \`(version, codename)\`, the version without Ubuntu's \` LTS\` suffix.";
    echo "pub const UBUNTU: &[(&str, &str)] = &[";
    tail -n +2 /usr/share/distro-info/ubuntu.csv | awk -F, '$1 != "" { v=$1; sub(/ LTS$/, "", v); printf "    (\"%s\", \"%s\"),\n", v, $3 }';
    echo "];"
