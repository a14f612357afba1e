//! The plan as people and machines read it: the file format (round trip, tamper
//! detection, versions, nothing machine- or time-specific), the text and markdown
//! renderings (snapshots, colour, GitHub's comment limit) and `diff`.

use crate::support::plans;

use crate::support::plans::{
    Kind, Settings, setup, sha, source_artifact, source_inventory, target_inventory, target_package,
};
use pkgsync::model::{SourceInventory, TargetInventory};
use pkgsync::plan::file::{self, PlanFileError};
use pkgsync::plan::{ActionKind, Plan, diff, plan as make_plan, render};
use serde_json::Value;
use std::path::Path;

// ---------------------------------------------------------------- fixtures

/// Fixes `tool` so snapshots survive version bumps, and recomputes `plan_id` as
/// the planner does.
fn pin_tool(mut plan: Plan) -> Plan {
    plan.tool = "pkgsync 0.0.0-test".into();
    plan.plan_id = file::plan_id(&plan);
    plan
}

/// Two uploads and a delete in fedora/39, an upload in debian/12, unchanged
/// packages in three groups, and packages out of scope that are left alone.
fn small_inputs() -> (SourceInventory, TargetInventory) {
    let source = source_inventory([
        source_artifact(
            "debian/12",
            Kind::Deb,
            "hello_1.1-1.1_amd64.deb",
            48_213,
            None,
        ),
        source_artifact(
            "debian/12",
            Kind::Deb,
            "kata-agent_3.2.0-1.1_amd64.deb",
            9_876_543,
            None,
        ),
        source_artifact(
            "fedora/39",
            Kind::Rpm,
            "hello-1.1-1.1.x86_64.rpm",
            51_002,
            None,
        ),
        source_artifact(
            "fedora/39",
            Kind::Rpm,
            "kata-agent-3.2.0-1.1.x86_64.rpm",
            10_485_760,
            None,
        ),
        source_artifact(
            "fedora/39",
            Kind::NoarchRpm,
            "zlib-doc-1.3-1.1.noarch.rpm",
            700,
            Some(sha(7)),
        ),
        source_artifact(
            "fedora/40",
            Kind::Rpm,
            "hello-1.1-1.1.x86_64.rpm",
            51_010,
            None,
        ),
    ]);
    let target = target_inventory([
        target_package(
            "debian/12",
            Kind::Deb,
            "kata-agent_3.2.0-1.1_amd64.deb",
            Some(sha(1)),
        ),
        target_package(
            "fedora/39",
            Kind::Rpm,
            "hello-1.0-1.1.x86_64.rpm",
            Some(sha(2)),
        ),
        target_package(
            "fedora/39",
            Kind::Rpm,
            "hello-debuginfo-1.0-1.1.x86_64.rpm",
            Some(sha(3)),
        ),
        target_package(
            "fedora/39",
            Kind::NoarchRpm,
            "zlib-doc-1.3-1.1.noarch.rpm",
            Some(sha(7)),
        ),
        target_package(
            "fedora/40",
            Kind::Rpm,
            "hello-1.1-1.1.x86_64.rpm",
            Some(sha(4)),
        ),
        target_package(
            "fedora/40",
            Kind::Rpm,
            "kata-agent-3.1.0-1.1.x86_64.rpm",
            None,
        ),
        target_package("el/9", Kind::Rpm, "hello-1.0-1.1.x86_64.rpm", None),
    ]);
    (source, target)
}

fn small_settings() -> Settings {
    Settings {
        protect: vec!["fedora/40/kata-agent-*".into()],
        allow_deletes: Some(2),
        ..Settings::default()
    }
}

fn small_plan_with(settings: &Settings) -> Plan {
    let (source, target) = small_inputs();
    let (policy, context) = setup(settings);
    pin_tool(make_plan(&source, &target, &policy, &context).unwrap())
}

fn small_plan() -> Plan {
    small_plan_with(&small_settings())
}

#[test]
fn the_small_plan_is_what_the_snapshots_show() {
    let plan = small_plan();
    let kinds: Vec<(ActionKind, &str, &str)> = plan
        .actions
        .iter()
        .map(|a| (a.action, a.distro_version.as_str(), a.filename.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ActionKind::Upload, "debian/12", "hello_1.1-1.1_amd64.deb"),
            (ActionKind::Delete, "fedora/39", "hello-1.0-1.1.x86_64.rpm"),
            (ActionKind::Upload, "fedora/39", "hello-1.1-1.1.x86_64.rpm"),
            (
                ActionKind::Upload,
                "fedora/39",
                "kata-agent-3.2.0-1.1.x86_64.rpm"
            ),
        ]
    );
    assert_eq!(plan.summary.unchanged, 3);
    assert_eq!(
        render::summary_line(&plan.summary),
        "Plan: 3 to upload, 1 to delete, 3 unchanged."
    );
}

// ---------------------------------------------------------------- file format

#[test]
fn a_written_plan_reads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans/plan.json");
    for plan in [
        small_plan(),
        small_plan_with(&Settings {
            list_skips: true,
            ..small_settings()
        }),
    ] {
        file::write(&plan, &path).unwrap();
        assert_eq!(file::read(&path).unwrap(), plan);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, file::to_file_text(&plan));
        // Stable: writing what was read gives the same bytes.
        assert_eq!(
            file::to_file_text(&file::parse(&text, &path).unwrap()),
            text
        );
    }
    // Nothing is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("plans"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["plan.json"]);
}

fn parse(text: &str) -> Result<Plan, PlanFileError> {
    file::parse(text, Path::new("plan.json"))
}

/// Replaces the first `from` after `anchor` with `to`, one byte.
fn edit_after(text: &str, anchor: &str, from: u8, to: u8) -> String {
    let start = text.find(anchor).expect("anchor in the file") + anchor.len();
    let offset = text.as_bytes()[start..]
        .iter()
        .position(|b| *b == from)
        .expect("byte after the anchor");
    let mut bytes = text.as_bytes().to_vec();
    bytes[start + offset] = to;
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_one_byte_edit_is_detected() {
    let text = file::to_file_text(&small_plan());
    assert!(parse(&text).is_ok());

    // A digit of a size: 48213 → 48214.
    let edited = edit_after(&text, "\"size\":4821", b'3', b'4');
    assert_ne!(edited, text);
    assert!(edited.contains("\"size\":48214"));
    // A letter of a filename.
    let edited_name = edit_after(&text, "\"filename\":\"hello-1.0", b'h', b'j');
    // A delete turned into an upload would be worse still.
    let edited_kind = text.replacen("\"action\":\"delete\"", "\"action\":\"deleteX\"", 1);
    for edited in [edited, edited_name, edited_kind] {
        match parse(&edited) {
            Err(PlanFileError::Tampered {
                recorded, actual, ..
            }) => assert_ne!(recorded, actual),
            other => panic!("expected Tampered, got {other:?}"),
        }
    }
}

#[test]
fn every_one_byte_edit_of_a_letter_or_digit_is_refused() {
    let text = file::to_file_text(&small_plan());
    let bytes = text.as_bytes();
    let mut tampered = 0;
    for (i, b) in bytes.iter().enumerate() {
        let replacement = match b {
            b'0'..=b'8' => b + 1,
            b'9' => b'1',
            b'a'..=b'y' | b'A'..=b'Y' => b + 1,
            b'z' => b'a',
            b'Z' => b'A',
            _ => continue,
        };
        let mut edited = bytes.to_vec();
        edited[i] = replacement;
        let edited = String::from_utf8(edited).unwrap();
        let result = parse(&edited);
        let still_v1_json = serde_json::from_str::<Value>(&edited).is_ok_and(|v| {
            v["format_version"]
                .as_str()
                .is_some_and(|f| f.starts_with("1."))
        });
        match result {
            Err(PlanFileError::Tampered { .. }) => tampered += 1,
            Err(PlanFileError::Json { .. } | PlanFileError::UnknownFormat { .. })
                if !still_v1_json => {}
            other => panic!(
                "byte {i} (`{}` → `{}`) gave {other:?}",
                *b as char, replacement as char
            ),
        }
    }
    assert!(tampered > 1000, "only {tampered} edits were checked");
}

/// The file as JSON, edited, with `plan_id` recomputed the way a writer would.
fn rewritten(plan: &Plan, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let Value::Object(mut map) = serde_json::to_value(plan).unwrap() else {
        unreachable!()
    };
    edit(&mut map);
    map.remove("plan_id");
    let id = file::digest(&file::canonical_compact(&Value::Object(map.clone())));
    map.insert("plan_id".into(), Value::String(id));
    serde_json::to_string_pretty(&Value::Object(map)).unwrap()
}

#[test]
fn an_unknown_major_version_is_refused() {
    let plan = small_plan();
    for version in ["2.0", "0.9", "10.0", "", "v1.0", "+1.0", "1.x", "1"] {
        let text = rewritten(&plan, |map| {
            map.insert("format_version".into(), version.into());
        });
        match parse(&text) {
            Err(PlanFileError::UnknownFormat { found, .. }) => assert_eq!(found, version),
            other => panic!("{version}: expected UnknownFormat, got {other:?}"),
        }
    }
    let text = rewritten(&plan, |map| {
        map.remove("format_version");
    });
    assert!(matches!(
        parse(&text),
        Err(PlanFileError::UnknownFormat { .. })
    ));
}

#[test]
fn a_newer_minor_version_with_added_fields_is_accepted() {
    let plan = small_plan();
    let text = rewritten(&plan, |map| {
        map.insert("format_version".into(), "1.7".into());
        map.insert(
            "review".into(),
            serde_json::json!({"approved_by": ["someone"], "notes": 3}),
        );
        let actions = map["actions"].as_array_mut().unwrap();
        actions[0]["priority"] = 1.into();
    });
    let read = parse(&text).expect("a 1.7 file is read");
    let mut expected = plan.clone();
    expected.format_version = "1.7".into();
    expected.plan_id = read.plan_id.clone();
    assert_eq!(read, expected);
    assert_ne!(read.plan_id, plan.plan_id, "the added fields are covered");

    // The added fields are covered by plan_id: dropping one is tampering.
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value.as_object_mut().unwrap().remove("review");
    assert!(matches!(
        parse(&value.to_string()),
        Err(PlanFileError::Tampered { .. })
    ));
}

#[test]
fn an_action_that_does_not_read_is_named_by_its_place_and_key() {
    let plan = small_plan();
    let (index, action) = plan
        .actions
        .iter()
        .enumerate()
        .find(|(_, a)| a.action == ActionKind::Upload)
        .unwrap();
    let key = format!("upload {}/{}", action.distro_version, action.filename);
    let text = rewritten(&plan, |map| {
        let actions = map["actions"].as_array_mut().unwrap();
        actions[index]["source"] = serde_json::json!({"project": 3});
    });
    match parse(&text) {
        Err(PlanFileError::Shape { message, .. }) => {
            assert!(
                message.starts_with(&format!("action {} (`{key}`): ", index + 1)),
                "{message}"
            );
        }
        other => panic!("expected Shape, got {other:?}"),
    }
}

#[test]
fn the_plan_id_is_the_digest_of_the_whole_body_as_json() {
    for plan in [small_plan(), big_plan(3000, 40)] {
        let mut value = serde_json::to_value(&plan).unwrap();
        value.as_object_mut().unwrap().remove("plan_id");
        assert_eq!(
            file::plan_id(&plan),
            file::digest(&file::canonical_compact(&value))
        );
    }
}

#[test]
fn a_key_given_twice_reads_as_the_plan_id_covers_it() {
    let plan = small_plan();
    let text = file::to_file_text(&plan);
    let index = plan
        .actions
        .iter()
        .position(|a| a.action == ActionKind::Upload)
        .unwrap();
    // Another kind of source's fields, and an `arch` that the file's own
    // `arch` (later, so the one a JSON reader keeps) overrides.
    let lines: Vec<String> = text
        .lines()
        .map(String::from)
        .enumerate()
        .map(|(i, line)| match i == index + actions_line(&text) + 1 {
            true => line.replacen(
                "\"source\":{",
                "\"source\":{\"arch\":\"aarch64\",\"archive\":\"https://elsewhere.example/debian\",\"path\":\"pool/x.deb\",",
                1,
            ),
            false => line,
        })
        .collect();
    let edited = lines.join("\n") + "\n";
    assert_ne!(edited, text, "the edit applies");
    // The plan_id a writer of that JSON would give it.
    let mut value: Value = serde_json::from_str(&edited).unwrap();
    let recorded = value.as_object_mut().unwrap().remove("plan_id").unwrap();
    let id = file::digest(&file::canonical_compact(&value));
    let edited = edited.replace(recorded.as_str().unwrap(), &id);
    let read = parse(&edited).expect("read as the JSON reader sees it");
    assert_eq!(read.actions[index].source, plan.actions[index].source);
}

/// The line of the file that opens the actions list.
fn actions_line(text: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with("  \"actions\": ["))
        .unwrap()
}

/// Every string and number in a JSON value, with its path.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{path}.{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{path}[{i}]"), out)),
        other => out.push((path, other.clone())),
    }
}

fn looks_like_a_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(10).any(|w| {
        w.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
    })
}

#[test]
fn the_file_holds_no_absolute_paths_and_no_timestamps() {
    // A config at an absolute path, planned now.
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("pkgsync.yaml");
    std::fs::write(&config_path, plans::config_yaml(&small_settings())).unwrap();
    let config =
        pkgsync::config::Config::load(&config_path, &pkgsync::config::Environment::default())
            .unwrap();
    let (source, target) = small_inputs();
    let context = pkgsync::plan::planner::PlanContext {
        config: config.effective(),
        list_skips: true,
        after: None,
    };
    let policy = pkgsync::plan::policy::Policy::new(&config, str::to_string, Some(2));
    let plan = make_plan(&source, &target, &policy, &context).unwrap();
    let text = file::to_file_text(&plan);

    let dir_text = dir.path().to_string_lossy().into_owned();
    let cwd = std::env::current_dir().unwrap();
    assert!(!text.contains(&dir_text), "{text}");
    assert!(!text.contains(&*cwd.to_string_lossy()), "{text}");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut all = Vec::new();
    leaves(
        &serde_json::from_str(&text).unwrap(),
        String::new(),
        &mut all,
    );
    for (path, value) in &all {
        match value {
            Value::String(s) => {
                assert!(
                    !s.starts_with('/') && !s.starts_with('\\') && s.get(1..3) != Some(":\\"),
                    "{path} is an absolute path: {s}"
                );
                assert!(!looks_like_a_date(s), "{path} looks like a date: {s}");
            }
            Value::Number(n) => {
                // Nothing within a day of now, in seconds or milliseconds.
                let n = n.as_u64().unwrap_or(0);
                assert!(
                    n.abs_diff(now) > 86_400 && n.abs_diff(now * 1000) > 86_400_000,
                    "{path} looks like the time of planning: {n}"
                );
            }
            _ => {}
        }
    }
    // The only time in a plan is each upload's OBS build time, an input the
    // apply checks against; it is the source's, never the clock's.
    for (path, value) in &all {
        let field = path.rsplit('.').next().unwrap_or_default();
        if field == "mtime" {
            let filename = all
                .iter()
                .find(|(p, _)| *p == path.replace(".mtime", ".filename"))
                .and_then(|(_, v)| v.as_str())
                .unwrap();
            let artifact = source
                .artifacts
                .values()
                .find(|a| a.key.filename == filename);
            let mtime = artifact.map(|a| pkgsync::obs::inventory::built(a).mtime);
            assert_eq!(value.as_u64(), mtime, "{path}");
            continue;
        }
        for word in [
            "time",
            "date",
            "created",
            "generated",
            "stamp",
            "host",
            "path",
            "dir",
        ] {
            assert!(!field.contains(word), "a `{field}` field at {path}");
        }
    }
}

#[test]
fn skips_are_listed_by_name_only_with_list_skips() {
    let unchanged = [
        "zlib-doc-1.3-1.1.noarch.rpm",
        "kata-agent_3.2.0-1.1_amd64.deb",
    ];

    let plan = small_plan();
    assert!(plan.unchanged.iter().all(|g| g.files.is_none()));
    let text = file::to_file_text(&plan);
    assert!(!text.contains("\"files\""));
    for name in unchanged {
        assert!(
            !text.contains(name),
            "{name} is listed without --list-skips"
        );
    }

    let listed = small_plan_with(&Settings {
        list_skips: true,
        ..small_settings()
    });
    let groups: Vec<(&str, usize, Vec<&str>)> = listed
        .unchanged
        .iter()
        .map(|g| {
            let files = g.files.as_ref().expect("files listed");
            (
                g.distro_version.as_str(),
                g.count,
                files.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("debian/12", 1, vec!["kata-agent_3.2.0-1.1_amd64.deb"]),
            ("fedora/39", 1, vec!["zlib-doc-1.3-1.1.noarch.rpm"]),
            ("fedora/40", 1, vec!["hello-1.1-1.1.x86_64.rpm"]),
        ]
    );
    // The same plan otherwise: only the listing differs.
    assert_eq!(listed.actions, plan.actions);
    assert_eq!(listed.summary, plan.summary);
    assert_eq!(
        listed
            .unchanged
            .iter()
            .map(|g| (&g.distro_version, g.count, &g.digest))
            .collect::<Vec<_>>(),
        plan.unchanged
            .iter()
            .map(|g| (&g.distro_version, g.count, &g.digest))
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- renderings

#[test]
fn text_rendering() {
    insta::assert_snapshot!(render::text(&small_plan(), false));
}

#[test]
fn markdown_rendering() {
    insta::assert_snapshot!(render::markdown(&small_plan()));
}

/// The small plan as if its files came from published repositories: one
/// rpm-md repository signed by a key, one Debian archive read unsigned.
fn published_plan() -> Plan {
    use pkgsync::config::{EffectiveDeb, EffectiveRpmMd};
    let mut plan = small_plan();
    plan.config.rpm_md = vec![EffectiveRpmMd {
        url: "https://download.example.org/repositories/home:/example/Fedora_39".into(),
        distro: "fedora/39".into(),
        signed_by: vec!["0123456789ABCDEF0123456789ABCDEF01234567".into()],
        allow_hosts: Vec::new(),
        auth: None,
    }];
    plan.config.deb = vec![EffectiveDeb {
        url: "https://download.example.org/repositories/home:/example/Debian_12".into(),
        distro: "debian/12".into(),
        suite: None,
        components: Vec::new(),
        architectures: Vec::new(),
        signed_by: Vec::new(),
        auth: None,
        check_valid_until: true,
    }];
    pin_tool(plan)
}

#[test]
fn text_names_each_published_repository_signed_or_not() {
    let text = render::text(&published_plan(), false);
    assert!(
        text.contains(
            "rpm-md https://download.example.org/repositories/home:/example/Fedora_39 → fedora/39: signed by 0123456789ABCDEF0123456789ABCDEF01234567\n"
        ) && text.contains(
            "deb https://download.example.org/repositories/home:/example/Debian_12 → debian/12: unsigned\n"
        ),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn markdown_names_each_published_repository_signed_or_not() {
    let md = render::markdown(&published_plan());
    let sources = md.lines().find(|l| l.starts_with("Repository ")).unwrap();
    assert!(
        sources.contains("(signed by `0123456789ABCDEF0123456789ABCDEF01234567`)")
            && sources.contains("Debian_12` (unsigned)"),
        "{sources}"
    );
}

#[test]
fn text_without_changes() {
    let (source, _) = small_inputs();
    let target = target_inventory(source.artifacts.values().map(|a| {
        target_package(
            &a.key.distro_version,
            Kind::Rpm,
            &a.key.filename,
            a.sha256.clone(),
        )
    }));
    let (policy, context) = setup(&small_settings());
    let plan = pin_tool(make_plan(&source, &target, &policy, &context).unwrap());
    assert!(plan.actions.is_empty());
    let text = render::text(&plan, false);
    assert!(
        text.starts_with("No changes. 6 package(s) unchanged.\n"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

const ANSI_RED: &str = "\u{1b}[31m";

#[test]
fn colour_only_when_asked() {
    let plan = small_plan();
    let plain = render::text(&plan, false);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");

    // Asked for: coloured whatever the process's terminal, deletes in red.
    let coloured = render::text(&plan, true);
    let delete_line = coloured
        .lines()
        .find(|l| l.contains("hello-1.0-1.1.x86_64.rpm"))
        .unwrap();
    assert!(delete_line.contains(ANSI_RED), "{delete_line:?}");
    let upload_line = coloured
        .lines()
        .find(|l| l.contains("hello-1.1-1.1.x86_64.rpm"))
        .unwrap();
    assert!(!upload_line.contains(ANSI_RED), "{upload_line:?}");
    // The same words either way.
    assert_eq!(console::strip_ansi_codes(&coloured), plain);
    // The markdown never carries terminal escapes.
    assert!(!render::markdown(&plan).contains('\u{1b}'));
}

#[test]
fn text_puts_the_summary_first_and_marks_deletes() {
    let text = render::text(&small_plan(), false);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("Plan: 3 to upload, 1 to delete, 3 unchanged.")
    );
    let fedora: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim() != "fedora/39:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(fedora.len(), 3, "{text}");
    assert!(
        fedora[0].contains("- delete") && fedora[0].contains("hello-1.0-1.1.x86_64.rpm"),
        "deletes come first in their group: {fedora:?}"
    );
    assert!(fedora[1..].iter().all(|l| l.contains("+ upload")));
}

/// A plan with thousands of actions over several distro/versions.
fn big_plan(uploads: usize, deletes: usize) -> Plan {
    let dvs = ["debian/12", "fedora/39", "fedora/40"];
    let source = source_inventory((0..uploads).map(|i| {
        source_artifact(
            dvs[i % 3],
            Kind::Rpm,
            &format!("package-number-{i:05}-1.0-1.1.x86_64.rpm"),
            1000 + i as u64,
            None,
        )
    }));
    let target = target_inventory((0..deletes).map(|i| {
        target_package(
            dvs[i % 3],
            Kind::Rpm,
            &format!("old-package-{i:05}-0.9-1.1.x86_64.rpm"),
            None,
        )
    }));
    let (policy, context) = setup(&Settings {
        allow_deletes: Some(deletes),
        ..Settings::default()
    });
    pin_tool(make_plan(&source, &target, &policy, &context).unwrap())
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

#[test]
fn markdown_of_a_huge_plan_stays_under_githubs_limit_deletes_first() {
    let plan = big_plan(4000, 300);
    let md = render::markdown(&plan);
    assert!(
        chars(&md) <= render::GITHUB_COMMENT_LIMIT,
        "{} characters",
        chars(&md)
    );

    // Deletes come first and are all there, open (not folded).
    let deletes_at = md.find("#### Delete (300)").expect("a Delete section");
    let uploads_at = md.find("Upload (4000)").expect("an Upload section");
    assert!(deletes_at < uploads_at);
    for i in 0..300 {
        assert!(
            md.contains(&format!("old-package-{i:05}-0.9-1.1.x86_64.rpm")),
            "delete {i} is missing"
        );
    }
    assert!(md.contains("deletes 300 package(s)"));

    // The uploads listed are the start of the list; the rest are counted in a
    // note after the listing.
    let uploads: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Upload)
        .map(|a| a.filename.as_str())
        .collect();
    let shown = uploads.iter().take_while(|f| md.contains(*f)).count();
    assert!(shown > 100 && shown < 4000, "{shown} uploads shown");
    assert!(uploads[shown..].iter().all(|f| !md.contains(f)));
    let note = md
        .lines()
        .find(|l| l.contains("cut to stay under GitHub's"))
        .expect("a note of what was cut");
    assert_eq!(
        note,
        format!(
            "> {} upload(s) not listed: cut to stay under GitHub's 65536-character limit; run `pkgsync show PLAN` for the full list.",
            4000 - shown
        )
    );
    assert!(md.find(note).unwrap() > deletes_at);
    assert!(md.contains(&format!("plan_id `{}`", plan.plan_id)));
}

#[test]
fn markdown_when_even_the_deletes_do_not_fit() {
    let plan = big_plan(50, 3000);
    let md = render::markdown(&plan);
    assert!(chars(&md) <= render::GITHUB_COMMENT_LIMIT);
    let deletes_at = md.find("#### Delete (3000)").expect("a Delete section");
    assert!(!md.contains("package-number-"), "no upload listed");
    let shown = (0..3000)
        .filter(|i| md.contains(&format!("old-package-{i:05}-")))
        .count();
    assert!(shown > 100 && shown < 3000, "{shown} deletes shown");
    let note = md
        .lines()
        .find(|l| l.contains("cut to stay under GitHub's"))
        .expect("a note of what was cut");
    assert!(md.find(note).unwrap() > deletes_at);
    assert!(
        note.starts_with(&format!(
            "> {} delete(s), 50 upload(s) not listed: ",
            3000 - shown
        )),
        "{note}"
    );
    assert!(md.contains(&format!("plan_id `{}`", plan.plan_id)));
}

#[test]
fn markdown_of_a_small_plan_cuts_nothing() {
    let md = render::markdown(&small_plan());
    assert!(!md.contains("cut to stay under"));
    assert!(md.contains("hello-1.0-1.1.x86_64.rpm"));
    assert!(md.find("Delete (1)").unwrap() < md.find("Upload (3)").unwrap());
}

// ---------------------------------------------------------------- diff

#[test]
fn diff_of_the_same_plan_is_empty() {
    let plan = small_plan();
    let d = diff::diff(&plan, &plan.clone());
    assert!(d.same_actions());
    assert!(d.text_diff.is_empty(), "{}", d.text_diff);
    assert!(diff::render(&d).starts_with("The plans have the same actions."));
}

#[test]
fn diff_reports_an_added_upload_and_a_removed_delete_per_distro_version() {
    let old = small_plan();
    let (mut source, mut target) = small_inputs();
    // fedora/40 gets a new upload; the fedora/39 orphan is back on OBS, unchanged.
    source.artifacts.extend([
        (
            pkgsync::model::ArtifactKey::new("fedora/40", "zlib-1.3-1.1.x86_64.rpm"),
            source_artifact("fedora/40", Kind::Rpm, "zlib-1.3-1.1.x86_64.rpm", 321, None),
        ),
        (
            pkgsync::model::ArtifactKey::new("fedora/39", "hello-1.0-1.1.x86_64.rpm"),
            source_artifact(
                "fedora/39",
                Kind::Rpm,
                "hello-1.0-1.1.x86_64.rpm",
                50_000,
                None,
            ),
        ),
    ]);
    target.packages.remove(&pkgsync::model::ArtifactKey::new(
        "el/9",
        "hello-1.0-1.1.x86_64.rpm",
    ));
    let (policy, context) = setup(&small_settings());
    let new = pin_tool(make_plan(&source, &target, &policy, &context).unwrap());

    let d = diff::diff(&old, &new);
    assert!(!d.same_actions());
    assert_eq!(
        d.added.iter().collect::<Vec<_>>(),
        [(
            &"fedora/40".to_string(),
            &vec![
                "upload zlib-1.3-1.1.x86_64.rpm (321 bytes, md5 0000000000000000000000000026c9af)"
                    .to_string()
            ]
        )]
    );
    assert_eq!(
        d.removed.iter().collect::<Vec<_>>(),
        [(
            &"fedora/39".to_string(),
            &vec!["delete hello-1.0-1.1.x86_64.rpm".to_string()]
        )]
    );
    let report = diff::render(&d);
    assert!(
        report.contains("fedora/39:\n  - delete hello-1.0-1.1.x86_64.rpm\n"),
        "{report}"
    );
    assert!(
        report.contains("fedora/40:\n  + upload zlib-1.3-1.1.x86_64.rpm"),
        "{report}"
    );
    // The unified diff of the renderings shows the same two lines.
    let changed: Vec<&str> = d
        .text_diff
        .lines()
        .filter(|l| l.contains(".rpm") && (l.starts_with('+') || l.starts_with('-')))
        .collect();
    assert!(
        changed
            .iter()
            .any(|l| l.starts_with("-    - delete  hello-1.0-1.1.x86_64.rpm")),
        "{}",
        d.text_diff
    );
    assert!(
        changed
            .iter()
            .any(|l| l.starts_with("+    + upload  zlib-1.3-1.1.x86_64.rpm")),
        "{}",
        d.text_diff
    );
    assert_eq!(changed.len(), 2, "{}", d.text_diff);

    // A rebuilt upload (same name, new size) is a different action.
    let mut rebuilt = new.clone();
    let upload = rebuilt
        .actions
        .iter_mut()
        .find(|a| a.filename == "zlib-1.3-1.1.x86_64.rpm")
        .unwrap();
    *upload.source.as_mut().unwrap().size.as_mut().unwrap() += 1;
    let d = diff::diff(&new, &rebuilt);
    assert_eq!(d.added["fedora/40"].len(), 1);
    assert_eq!(d.removed["fedora/40"].len(), 1);
}

#[test]
fn markdown_cells_cannot_break_the_table() {
    let mut plan = small_plan();
    plan.actions[0].filename = "odd|name`.rpm".into();
    let markdown = pkgsync::plan::render::markdown(&plan);
    let row = markdown.lines().find(|l| l.contains("odd")).unwrap();
    assert!(row.contains("`odd\\|name\\u{60}.rpm`"), "{row}");
    assert_eq!(row.matches(" | ").count(), 2, "three cells: {row}");
}

#[test]
fn diff_names_changed_settings_without_calling_the_actions_different() {
    let old = small_plan();
    let new = small_plan_with(&Settings {
        allow_deletes: Some(7),
        max_deletes: 30,
        ..small_settings()
    });
    let d = diff::diff(&old, &new);
    assert_eq!(d.same_actions(), old.actions == new.actions);
    assert!(
        d.settings
            .iter()
            .any(|l| l == "`sync.max_deletes`: 25 → 30"),
        "{:?}",
        d.settings
    );
    assert!(
        d.settings.iter().any(|l| l == "`--allow-deletes`: 2 → 7"),
        "{:?}",
        d.settings
    );
    assert!(diff::render(&d).contains("settings:\n"));
}

/// 10,000 actions: the markdown stays under GitHub's limit and says what it left
/// out and how to see it; the text renders whole. Prints the render times.
#[test]
fn a_plan_of_ten_thousand_actions_fits_a_comment_and_renders_as_text() {
    let plan = big_plan(9_500, 500);
    let started = std::time::Instant::now();
    let md = render::markdown(&plan);
    let markdown_time = started.elapsed();
    assert!(chars(&md) <= render::GITHUB_COMMENT_LIMIT, "{}", chars(&md));
    assert!(md.contains("not listed"), "says what it cut");
    assert!(md.contains("pkgsync show"), "and how to see it");
    let started = std::time::Instant::now();
    let text = render::text(&plan, false);
    let text_time = started.elapsed();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("+ upload") || l.contains("- delete"))
            .count(),
        10_000,
        "the text lists every action"
    );
    println!(
        "render of 10,000 actions: markdown {:.0} ms ({} characters), text {:.0} ms",
        markdown_time.as_secs_f64() * 1000.0,
        chars(&md),
        text_time.as_secs_f64() * 1000.0
    );
}
