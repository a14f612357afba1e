//! The distributions table of the Packagecloud emulator: the 2018 fixture body of
//! `GET /api/v1/distributions.json`, extended with the live ids of 2024 (TSV), and
//! the id → `distro/version` + accepted package types lookup uploads need.
//!
//! TSV entries missing from the JSON go under the package type their distro
//! takes: Debian family (`ubuntu`, `debian`, `raspbian`, `linuxmint`,
//! `elementaryos`, `any`) under `deb` and `dsc`; rpm distros (`el`, `fedora`,
//! `ol`, `sles`, `opensuse`, `amazon`, `rpm_any`, ...) under `rpm`; the non-package
//! types (`alpine`, `helm`, `anyfile`, `huggingface`, `terraform`, ...) under a key
//! of their own, as the live API does, so no rpm or deb is accepted there.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const FIXTURE_JSON: &str = include_str!("../data/distributions.json");
const LIVE_IDS_TSV: &str = include_str!("../data/distro-ids-2024.tsv");

const DEB_DISTROS: &[&str] = &[
    "ubuntu",
    "debian",
    "raspbian",
    "linuxmint",
    "elementaryos",
    "any",
];
const RPM_DISTROS: &[&str] = &[
    "el",
    "fedora",
    "scientific",
    "ol",
    "poky",
    "opensuse",
    "sles",
    "amazon",
    "rpm_any",
];

/// Release numbers of the code-named versions the TSV adds, so they carry a
/// `version_number` as the fixture's code-named versions do (`bionic` = `18.04`)
/// and a client can map `ubuntu/22.04` to `ubuntu/jammy`. The numbers are the
/// distributions' own release numbers in the fixture's style (Debian `12.0`); the
/// live values were not captured.
const CODE_NAME_NUMBERS: &[(&str, &str, &str)] = &[
    ("ubuntu", "cosmic", "18.10"),
    ("ubuntu", "disco", "19.04"),
    ("ubuntu", "eoan", "19.10"),
    ("ubuntu", "focal", "20.04"),
    ("ubuntu", "groovy", "20.10"),
    ("ubuntu", "hirsute", "21.04"),
    ("ubuntu", "impish", "21.10"),
    ("ubuntu", "jammy", "22.04"),
    ("ubuntu", "kinetic", "22.10"),
    ("ubuntu", "lunar", "23.04"),
    ("ubuntu", "mantic", "23.10"),
    ("ubuntu", "noble", "24.04"),
    ("ubuntu", "oracular", "24.10"),
    ("debian", "bullseye", "11.0"),
    ("debian", "bookworm", "12.0"),
    ("debian", "trixie", "13.0"),
    ("debian", "forky", "14.0"),
    ("raspbian", "bullseye", "11.0"),
    ("raspbian", "bookworm", "12.0"),
    ("raspbian", "trixie", "13.0"),
    ("raspbian", "forky", "14.0"),
    ("linuxmint", "tara", "19"),
    ("linuxmint", "tessa", "19.1"),
    ("linuxmint", "tina", "19.2"),
    ("linuxmint", "tricia", "19.3"),
    ("linuxmint", "ulyana", "20"),
    ("linuxmint", "ulyssa", "20.1"),
    ("linuxmint", "uma", "20.2"),
    ("linuxmint", "una", "20.3"),
    ("linuxmint", "vanessa", "21"),
    ("linuxmint", "vera", "21.1"),
    ("linuxmint", "victoria", "21.2"),
    ("linuxmint", "virginia", "21.3"),
    ("linuxmint", "wilma", "22"),
    ("elementaryos", "loki", "0.4"),
    ("elementaryos", "juno", "5.0"),
    ("elementaryos", "hera", "5.1"),
    ("elementaryos", "odin", "6.0"),
    ("elementaryos", "jolnir", "6.1"),
    ("elementaryos", "horus", "7.0"),
];

/// One distro version as uploads see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistroVersion {
    pub id: u64,
    /// `fedora/39`, `ubuntu/jammy`, `python`.
    pub name: String,
    /// Type keys it appears under: `rpm`, `deb`, `dsc`, `py`, ...
    pub types: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Distributions {
    body: Value,
    by_id: BTreeMap<u64, DistroVersion>,
}

impl Distributions {
    pub(crate) fn load() -> anyhow::Result<Self> {
        let mut body: Value = serde_json::from_str(FIXTURE_JSON)?;
        let mut by_id = BTreeMap::new();
        index(&body, &mut by_id);
        for line in LIVE_IDS_TSV.lines().skip(1) {
            let Some((name, id)) = line.split_once('\t') else {
                continue;
            };
            let id: u64 = id.trim().parse()?;
            if by_id.contains_key(&id) {
                continue;
            }
            let (distro, version) = name.split_once('/').unwrap_or((name, name));
            for type_key in type_keys(distro) {
                add_version(&mut body, &type_key, distro, version, id)?;
            }
        }
        by_id.clear();
        index(&body, &mut by_id);
        Ok(Self { body, by_id })
    }

    /// The response body of `GET /api/v1/distributions.json`.
    pub(crate) fn body(&self) -> &Value {
        &self.body
    }

    pub(crate) fn by_id(&self, id: u64) -> Option<&DistroVersion> {
        self.by_id.get(&id)
    }

    /// The id of `distro/version` among rpm and deb distros.
    pub(crate) fn id_of(&self, name: &str) -> Option<u64> {
        self.by_id
            .values()
            .find(|d| d.name == name && (d.types.contains("rpm") || d.types.contains("deb")))
            .map(|d| d.id)
    }
}

fn type_keys(distro: &str) -> Vec<String> {
    if DEB_DISTROS.contains(&distro) {
        vec!["deb".into(), "dsc".into()]
    } else if RPM_DISTROS.contains(&distro) {
        vec!["rpm".into()]
    } else {
        let own = distro.strip_suffix("_any").unwrap_or(distro);
        vec![match own {
            "python" => "py".to_string(),
            "java" => "jar".to_string(),
            other => other.to_string(),
        }]
    }
}

fn index(body: &Value, by_id: &mut BTreeMap<u64, DistroVersion>) {
    let Some(types) = body.as_object() else {
        return;
    };
    for (type_key, distros) in types {
        for distro in distros.as_array().into_iter().flatten() {
            let dist_name = distro["index_name"].as_str().unwrap_or_default();
            for version in distro["versions"].as_array().into_iter().flatten() {
                let Some(id) = version["id"].as_u64() else {
                    continue;
                };
                let name = match version["index_name"].as_str() {
                    Some(v) => format!("{dist_name}/{v}"),
                    None => dist_name.to_string(),
                };
                by_id
                    .entry(id)
                    .or_insert_with(|| DistroVersion {
                        id,
                        name,
                        types: BTreeSet::new(),
                    })
                    .types
                    .insert(type_key.clone());
            }
        }
    }
}

fn add_version(
    body: &mut Value,
    type_key: &str,
    distro: &str,
    version: &str,
    id: u64,
) -> anyhow::Result<()> {
    let types = body
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("distributions.json is not an object"))?;
    let list = types
        .entry(type_key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("`{type_key}` is not an array"))?;
    let position = match list.iter().position(|d| d["index_name"] == distro) {
        Some(p) => p,
        None => {
            list.push(json!({"display_name": distro, "index_name": distro, "versions": []}));
            list.len() - 1
        }
    };
    let versions = list[position]["versions"]
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("`{distro}` has no versions array"))?;
    let number = CODE_NAME_NUMBERS
        .iter()
        .find(|(d, v, _)| *d == distro && *v == version)
        .map(|(_, _, number)| number.to_string())
        .or_else(|| {
            version
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| version.to_string())
        });
    let display_name = match &number {
        Some(number) if number != version => format!("{number} {version}"),
        _ => version.to_string(),
    };
    let mut entry = Map::new();
    entry.insert("id".into(), json!(id));
    entry.insert("display_name".into(), json!(display_name));
    entry.insert("index_name".into(), json!(version));
    entry.insert("version_number".into(), json!(number));
    versions.push(Value::Object(entry));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_and_live_ids_are_merged() {
        let d = Distributions::load().unwrap();
        let fedora39 = d.by_id(279).unwrap();
        assert_eq!(fedora39.name, "fedora/39");
        assert!(fedora39.types.contains("rpm"));
        let jammy = d.by_id(237).unwrap();
        assert_eq!(jammy.name, "ubuntu/jammy");
        assert!(jammy.types.contains("deb") && jammy.types.contains("dsc"));
        assert_eq!(d.by_id(140).unwrap().name, "el/7");
        assert_eq!(d.by_id(227).unwrap().name, "rpm_any/rpm_any");
        assert!(d.by_id(227).unwrap().types.contains("rpm"));
        assert_eq!(d.id_of("opensuse/15.0"), Some(196));
        assert_eq!(d.id_of("sles/12.3"), Some(192));
        assert_eq!(d.id_of("any/any"), Some(35));
        // Code-named versions from the TSV carry their release number.
        let jammy = &d.body()["deb"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["index_name"] == "ubuntu")
            .unwrap()["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["index_name"] == "jammy")
            .unwrap()
            .clone();
        assert_eq!(jammy["version_number"], "22.04");
        assert_eq!(jammy["id"], 237);
        // Non-package types are neither rpm nor deb.
        let helm = d.by_id(241).unwrap();
        assert!(!helm.types.contains("rpm") && !helm.types.contains("deb"));
        // Quirks of the fixture survive.
        assert_eq!(d.by_id(166).unwrap().name, "python");
        let any = &d.body()["deb"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["index_name"] == "any")
            .unwrap()["versions"][0];
        assert!(any["version_number"].is_null());
    }
}
