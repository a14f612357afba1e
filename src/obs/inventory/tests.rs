use super::*;
use crate::obs::xml;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/obs-responses/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn demo_listing() -> ProjectListing {
    ProjectListing {
        project: "home:demo".into(),
        meta: xml::parse(&fixture("source-meta.xml")).unwrap(),
        results: xml::parse(&fixture("result-binarylist.xml")).unwrap(),
    }
}

fn mapping(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}

fn names(inv: &SourceInventory) -> Vec<String> {
    inv.artifacts.keys().map(|k| k.to_string()).collect()
}

#[test]
fn real_result_becomes_binary_packages_only() {
    let inv = build(
        &[demo_listing()],
        &mapping(&[
            ("Fedora_39", Some("fedora/39")),
            ("Debian_12", Some("debian/bookworm")),
        ]),
        &Filters::default(),
    )
    .unwrap();
    let names = names(&inv);
    assert!(names.contains(&"fedora/39/hello-1.0-1.1.x86_64.rpm".to_string()));
    assert!(names.contains(&"fedora/39/hello-1.0-1.1.aarch64.rpm".to_string()));
    assert!(names.contains(&"fedora/39/multi-nox-3.1-1.1.x86_64.rpm".to_string()));
    assert!(names.contains(&"debian/bookworm/world-doc_2.0-1.1_all.deb".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".src.rpm") || n.contains("_buildenv") || n.ends_with(".log"))
    );
    // world-doc _all.deb is built on both arches with different sizes: one
    // artifact, taken from x86_64, the arch sorting last.
    let doc = &inv.artifacts[&ArtifactKey::new("debian/bookworm", "world-doc_2.0-1.1_all.deb")];
    assert_eq!(&*origin(doc).arch, "x86_64");
}

#[test]
fn unmapped_repositories_are_listed_together() {
    let err = build(&[demo_listing()], &mapping(&[]), &Filters::default()).unwrap_err();
    assert_eq!(
        err,
        InventoryError::Unmapped(vec!["Debian_12".into(), "Fedora_39".into()])
    );
    assert!(err.to_string().contains("`Debian_12`, `Fedora_39`"));
}

#[test]
fn empty_mapping_value_skips_the_repository() {
    let inv = build(
        &[demo_listing()],
        &mapping(&[("Fedora_39", Some("fedora/39")), ("Debian_12", None)]),
        &Filters::default(),
    )
    .unwrap();
    assert!(
        inv.artifacts
            .keys()
            .all(|k| k.distro_version == "fedora/39")
    );
}

#[test]
fn hostile_filename_is_rejected() {
    let mut listing = demo_listing();
    let binaries = &mut listing.results.results[0].binarylists[1].binaries;
    binaries.last_mut().unwrap().filename = "../../etc/passwd.rpm".into();
    let err = build(
        &[listing],
        &mapping(&[("Fedora_39", Some("f/39")), ("Debian_12", None)]),
        &Filters::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, InventoryError::UnsafeFilename { .. }),
        "{err}"
    );
    for bad in [
        "a/b.rpm",
        "..",
        "a\0.rpm",
        "a\n.rpm",
        "",
        "x\\y.rpm",
        "a\u{1b}[2K.rpm",
        "gpj\u{202e}.rpm",
        "a\u{2066}b.rpm",
    ] {
        assert!(!crate::model::is_safe_filename(bad), "{bad:?}");
    }
}

#[test]
fn same_file_from_two_projects_with_different_sizes_conflicts() {
    let first = demo_listing();
    let mut second = demo_listing();
    second.project = "home:other".into();
    for r in &mut second.results.results {
        r.project = "home:other".into();
        for list in &mut r.binarylists {
            for b in &mut list.binaries {
                b.size += 1;
            }
        }
    }
    let err = build(
        &[first, second],
        &mapping(&[("Fedora_39", Some("fedora/39")), ("Debian_12", None)]),
        &Filters::default(),
    )
    .unwrap_err();
    let InventoryError::Conflicts(conflicts) = err else {
        panic!("expected conflicts")
    };
    let c = conflicts
        .iter()
        .find(|c| c.key.filename == "hello-1.0-1.1.x86_64.rpm")
        .unwrap();
    assert!(c.to_string().contains("home:demo/Fedora_39/x86_64/hello"));
    assert!(c.to_string().contains("home:other/Fedora_39/x86_64/hello"));
}

/// kata's per-arch projects each build the noarch files on their own arch:
/// separate builds, one artifact, no conflict.
#[test]
fn noarch_copies_from_per_arch_projects_are_one_artifact() {
    let listing = |project: &str, arch: &str, size: u64| {
        ProjectListing {
        project: project.into(),
        meta: xml::parse(&format!(
            "<project name=\"{project}\"><repository name=\"Fedora_39\"><arch>{arch}</arch></repository></project>"
        ))
        .unwrap(),
        results: xml::parse(&format!(
            "<resultlist><result project=\"{project}\" repository=\"Fedora_39\" arch=\"{arch}\">\
             <binarylist package=\"kata-image\"><binary filename=\"kata-image-3.2-1.1.noarch.rpm\" size=\"{size}\" mtime=\"1\"/></binarylist>\
             </result></resultlist>"
        ))
        .unwrap(),
    }
    };
    let inv = build(
        &[
            listing("k:aarch64:stable", "aarch64", 100),
            listing("k:x86_64:stable", "x86_64", 101),
        ],
        &mapping(&[("Fedora_39", Some("fedora/39"))]),
        &Filters::default(),
    )
    .unwrap();
    assert_eq!(inv.artifacts.len(), 1);
    let artifact = inv.artifacts.values().next().unwrap();
    assert_eq!(
        (&*origin(artifact).project, artifact.size),
        ("k:x86_64:stable", Some(101))
    );
}

/// A capture from the real OBS backend (tests/obs-backend): every binary rpm
/// and deb its own listing names, and nothing else.
#[test]
fn real_backend_capture_becomes_the_expected_inventory() {
    let dir = format!("{}/tests/fixtures/obs-real", env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
    let listing = ProjectListing {
        project: "home:pkgsync:test".into(),
        meta: xml::parse(&read("source-meta.xml")).unwrap(),
        results: xml::parse(&read("result-binarylist-status.xml")).unwrap(),
    };
    let map = mapping(&[
        ("Fedora_39", Some("fedora/39")),
        ("xUbuntu_22.04", Some("ubuntu/jammy")),
    ]);
    let inv = build(&[listing], &map, &Filters::default()).unwrap();
    let expected: BTreeSet<String> = read("expected-binaries.tsv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let (repository, filename) = (fields[0], fields[3]);
            let rpm = filename.ends_with(".rpm")
                && !filename.ends_with(".src.rpm")
                && !filename.contains("-debuginfo-");
            let deb = filename.ends_with(".deb") && !filename.contains("-dbgsym_");
            let distro = if repository == "Fedora_39" {
                "fedora/39"
            } else {
                "ubuntu/jammy"
            };
            (rpm || deb).then(|| format!("{distro}/{filename}"))
        })
        .collect();
    assert_eq!(names(&inv).into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(expected.len() > 20);
}

#[test]
fn real_backend_error_bodies_parse() {
    let dir = format!("{}/tests/fixtures/obs-real", env!("CARGO_MANIFEST_DIR"));
    for (name, summary) in [
        (
            "error-404-unknown-project.xml",
            "project 'nosuch' does not exist",
        ),
        ("error-400-withmd5-true.xml", "not boolean"),
    ] {
        let status: xml::Status =
            xml::parse(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap()).unwrap();
        assert_eq!(status.summary.as_deref(), Some(summary), "{name}");
    }
}

fn one_repo_listing(result_attrs: &str, statuses: &str) -> ProjectListing {
    ProjectListing {
        project: "p".into(),
        meta: xml::parse(
            "<project name=\"p\"><repository name=\"Fedora_39\"><arch>x86_64</arch><arch>aarch64</arch></repository></project>",
        )
        .unwrap(),
        results: xml::parse(&format!(
            "<resultlist>\
             <result project=\"p\" repository=\"Fedora_39\" arch=\"x86_64\" {result_attrs}>{statuses}</result>\
             <result project=\"p\" repository=\"Fedora_39\" arch=\"aarch64\" code=\"published\" state=\"published\"/>\
             </resultlist>"
        ))
        .unwrap(),
    }
}

#[test]
fn a_broken_repository_without_statuses_is_incomplete() {
    let listing = one_repo_listing("code=\"broken\" state=\"broken\"", "");
    let inv = build(
        &[listing],
        &mapping(&[("Fedora_39", Some("fedora/39"))]),
        &Filters::default(),
    )
    .unwrap();
    assert_eq!(
        inv.coverage["fedora/39"].incomplete,
        ["`p/Fedora_39/x86_64` is `broken`"]
    );
}

#[test]
fn locked_packages_are_settled_and_failed_ones_are_not() {
    let statuses = "<status package=\"a\" code=\"locked\"/><status package=\"b\" code=\"failed\"/>";
    let listing = one_repo_listing("code=\"published\" state=\"published\"", statuses);
    let inv = build(
        &[listing],
        &mapping(&[("Fedora_39", Some("fedora/39"))]),
        &Filters::default(),
    )
    .unwrap();
    assert_eq!(
        inv.coverage["fedora/39"].incomplete,
        ["`b` is `failed` in `p/Fedora_39/x86_64`"]
    );
}

#[test]
fn arch_independent_files_are_claimed_only_with_every_arch_selected() {
    let listing = || one_repo_listing("code=\"published\" state=\"published\"", "");
    let map = mapping(&[("Fedora_39", Some("fedora/39"))]);
    let all = build(&[listing()], &map, &Filters::default()).unwrap();
    assert!(all.coverage["fedora/39"].archs.contains("noarch"));
    assert!(all.coverage["fedora/39"].archs.contains("aarch64"));

    let text = "obsprojects:\n  p: {}\npackagecloud:\n  repo: a/b\ndistro-mapping:\n  Fedora_39: fedora/39\nfilters:\n  architectures:\n    include: [x86_64]\n";
    let config = crate::config::Config::parse(
        text,
        std::path::Path::new("c.yaml"),
        &crate::config::Environment::default(),
    )
    .unwrap();
    let some = build(&[listing()], &map, &config.filters).unwrap();
    let archs = &some.coverage["fedora/39"].archs;
    assert!(archs.contains("x86_64") && !archs.contains("aarch64"));
    assert!(
        !archs.contains("noarch"),
        "a noarch file may come from aarch64 alone"
    );
}
