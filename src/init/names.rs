//! OBS repository names → the Packagecloud `distro/version`s they may mean.
//!
//! OBS names repositories by family (`xUbuntu_22.04` or `Ubuntu_22.04`, `Debian_12`,
//! `Raspbian_12`, `Fedora_40`, `openSUSE_Leap_15.6`, `SLE_15_SP5`, `CentOS_Stream_9`,
//! `AlmaLinux_9`, ...). Packagecloud names Debian and Ubuntu versions by codename
//! and may or may not list their numbers, so a numbered Debian-family name is
//! offered in both spellings, the codename from [`super::distro_info`].

use super::distro_info::{DEBIAN, UBUNTU};
use crate::packagecloud::{DistroError, DistroIndex};

/// A repository's proposed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// Packagecloud lists this `distro/version`.
    Sure(String),
    /// No candidate is listed; these are the closest names.
    Unsure(Vec<String>),
}

/// The first candidate Packagecloud lists, in its index-name spelling.
pub fn propose(repository: &str, index: &DistroIndex) -> Proposal {
    let candidates = candidates(repository);
    for candidate in &candidates {
        if let Ok(name) = index.canonical_name(candidate) {
            return Proposal::Sure(name.to_string());
        }
    }
    match index.canonical_name(&candidates[0]) {
        Err(DistroError::Unknown { closest, .. }) => Proposal::Unsure(closest),
        _ => Proposal::Unsure(Vec::new()),
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Debian's codename of release `n` (`12`, `12.0`, `6.0`), from the table.
fn debian_codename(n: &str) -> Option<&'static str> {
    let bare = |v: &'static str| v.strip_suffix(".0").unwrap_or(v);
    let n = n.strip_suffix(".0").unwrap_or(n);
    DEBIAN
        .iter()
        .find(|(version, ..)| bare(version) == n)
        .map(|(_, codename, _)| *codename)
}

/// Debian's testing as the table knows it: the first numbered release not yet
/// released (refreshing the table moves it on).
fn debian_testing() -> Option<&'static str> {
    DEBIAN
        .iter()
        .find(|(_, _, released)| released.is_empty())
        .map(|(_, codename, _)| *codename)
}

fn ubuntu_codename(n: &str) -> Option<&'static str> {
    UBUNTU
        .iter()
        .find(|(version, _)| *version == n)
        .map(|(_, codename)| *codename)
}

/// The `distro/version`s an OBS repository name may mean, most likely first, or
/// a single guess to find close names for when the family is unknown.
pub fn candidates(repository: &str) -> Vec<String> {
    if let Some(found) = debian_family(repository) {
        return found;
    }
    if let Some(n) = repository.strip_prefix("Fedora_").filter(|n| is_number(n)) {
        return vec![format!("fedora/{n}")];
    }
    if let Some(n) = repository
        .strip_prefix("openSUSE_Leap_")
        .or_else(|| repository.strip_prefix("openSUSE_"))
        .filter(|n| is_number(n))
    {
        return vec![format!("opensuse/{n}")];
    }
    if let Some(rest) = repository.strip_prefix("SLE_") {
        let (major, sp) = rest.split_once("_SP").unwrap_or((rest, "0"));
        if is_number(major) && is_number(sp) {
            return vec![format!("sles/{major}.{sp}")];
        }
    }
    if let Some(major) = enterprise_linux_major(repository) {
        return vec![format!("el/{major}")];
    }
    let guess = match repository {
        "openSUSE_Tumbleweed" | "openSUSE_Factory" => "opensuse/tumbleweed",
        "Fedora_Rawhide" => "fedora/rawhide",
        other => return vec![other.to_ascii_lowercase().replace('_', "/")],
    };
    vec![guess.to_string()]
}

/// Ubuntu, Debian and Raspbian, numbered or by suite.
fn debian_family(repository: &str) -> Option<Vec<String>> {
    if let Some(n) = repository
        .strip_prefix("xUbuntu_")
        .or_else(|| repository.strip_prefix("Ubuntu_"))
        .filter(|n| is_number(n))
    {
        let mut found = vec![format!("ubuntu/{n}")];
        found.extend(ubuntu_codename(n).map(|c| format!("ubuntu/{c}")));
        return Some(found);
    }
    for (prefix, dist) in [("Debian_", "debian"), ("Raspbian_", "raspbian")] {
        let Some(n) = repository.strip_prefix(prefix) else {
            continue;
        };
        let codename = match n {
            "Testing" => debian_testing(),
            "Unstable" => Some("sid"),
            n if is_number(n) => debian_codename(n),
            _ => continue,
        };
        let mut found = Vec::new();
        if is_number(n) {
            found.extend([format!("{dist}/{n}"), format!("{dist}/{n}.0")]);
        } else {
            found.push(format!("{dist}/{}", n.to_ascii_lowercase()));
        }
        found.extend(codename.map(|c| format!("{dist}/{c}")));
        return Some(found);
    }
    None
}

/// Enterprise Linux rebuilds and their Stream / EPEL variants: `el/<major>`.
fn enterprise_linux_major(repository: &str) -> Option<&str> {
    [
        "CentOS_Stream_",
        "CentOS_",
        "RHEL_",
        "AlmaLinux_",
        "RockyLinux_",
        "Rocky_",
        "EPEL_",
        "ScientificLinux_",
        "OracleLinux_",
    ]
    .iter()
    .filter_map(|prefix| repository.strip_prefix(prefix))
    .map(|rest| rest.trim_end_matches("_Stream"))
    .find(|major| is_number(major) && !major.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obs_repository_families_have_packagecloud_candidates() {
        for (repository, first) in [
            ("xUbuntu_22.04", "ubuntu/22.04"),
            ("Ubuntu_24.04", "ubuntu/24.04"),
            ("Debian_12", "debian/12"),
            ("Raspbian_11", "raspbian/11"),
            ("Fedora_39", "fedora/39"),
            ("openSUSE_Leap_15.5", "opensuse/15.5"),
            ("openSUSE_13.2", "opensuse/13.2"),
            ("SLE_15_SP5", "sles/15.5"),
            ("SLE_12", "sles/12.0"),
            ("CentOS_8_Stream", "el/8"),
            ("CentOS_7", "el/7"),
            ("CentOS_Stream_9", "el/9"),
            ("RHEL_9", "el/9"),
            ("AlmaLinux_9", "el/9"),
            ("RockyLinux_9", "el/9"),
            ("Rocky_8", "el/8"),
            ("EPEL_9", "el/9"),
            ("openSUSE_Tumbleweed", "opensuse/tumbleweed"),
            ("Fedora_Rawhide", "fedora/rawhide"),
            ("Debian_Testing", "debian/testing"),
            ("Debian_Unstable", "debian/unstable"),
        ] {
            assert_eq!(candidates(repository)[0], first, "{repository}");
        }
        assert!(candidates("Debian_12").contains(&"debian/12.0".to_string()));
    }

    #[test]
    fn debian_family_numbers_also_offer_the_codename_of_the_table() {
        for (repository, codename) in [
            ("Debian_12", "debian/bookworm"),
            ("Debian_11", "debian/bullseye"),
            ("Debian_7.0", "debian/wheezy"),
            ("Debian_6.0", "debian/squeeze"),
            ("Raspbian_12", "raspbian/bookworm"),
            ("xUbuntu_22.04", "ubuntu/jammy"),
            ("xUbuntu_24.04", "ubuntu/noble"),
            ("Ubuntu_20.04", "ubuntu/focal"),
            ("Debian_Unstable", "debian/sid"),
        ] {
            assert!(
                candidates(repository).contains(&codename.to_string()),
                "{repository}: {:?}",
                candidates(repository)
            );
        }
        // Testing is a release not yet made, named by codename.
        let testing = candidates("Debian_Testing");
        assert_eq!(testing.len(), 2, "{testing:?}");
        assert!(
            DEBIAN
                .iter()
                .any(|(_, c, r)| r.is_empty() && testing[1] == format!("debian/{c}"))
        );
    }
}
