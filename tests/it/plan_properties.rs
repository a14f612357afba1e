//! Properties of the planner over random inventories: determinism, convergence
//! after apply, where deletes may fall, and the deletion guards at their limits.

use crate::support::plans::{
    KINDS, Kind, MAPPING, OUT_OF_SCOPE, Settings, setup, sha, source_artifact, source_inventory,
    target_inventory, target_package,
};
use pkgsync::model::{
    ArtifactKey, SourceArtifact, SourceInventory, TargetInventory, TargetPackage,
};
use pkgsync::plan::planner::check_guards;
use pkgsync::plan::{
    ActionKind, Guards, Plan, PlanError, SourceExpectation, TargetExpectation, file,
    plan as make_plan,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

// ---------------------------------------------------------------- generators

const NAMES: [&str; 4] = ["hello", "kata", "qemu", "zlib"];
const VERSIONS: [&str; 2] = ["1.0-1.1", "1.1+git5-2.1"];
const SUFFIXES: [&str; 4] = [".src.rpm", ".noarch.rpm", ".deb", "_amd64.ddeb"];

/// Every distro/version a test may use: the mapped ones first, then those out of scope.
fn all_distro_versions() -> Vec<&'static str> {
    MAPPING
        .iter()
        .map(|(_, dv)| *dv)
        .chain(OUT_OF_SCOPE)
        .collect()
}

fn in_scope(distro_version: &str) -> bool {
    MAPPING.iter().any(|(_, dv)| *dv == distro_version)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Source,
    Target,
    Both,
}

/// What the two sides know about the content of a file on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checksums {
    NoneKnown,
    SourceKnown,
    TargetKnown,
    Same,
    SameOtherCase,
    Differ,
}

#[derive(Debug, Clone)]
struct Entry {
    distro_version: usize,
    name: usize,
    version: usize,
    kind: usize,
    presence: Presence,
    checksums: Checksums,
    size: u64,
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        0..MAPPING.len() + OUT_OF_SCOPE.len(),
        0..NAMES.len(),
        0..VERSIONS.len(),
        0..KINDS.len(),
        prop_oneof![
            Just(Presence::Source),
            Just(Presence::Target),
            Just(Presence::Both)
        ],
        prop_oneof![
            Just(Checksums::NoneKnown),
            Just(Checksums::SourceKnown),
            Just(Checksums::TargetKnown),
            Just(Checksums::Same),
            Just(Checksums::SameOtherCase),
            Just(Checksums::Differ),
        ],
        1u64..50_000_000,
    )
        .prop_map(
            |(distro_version, name, version, kind, presence, checksums, size)| Entry {
                distro_version,
                name,
                version,
                kind,
                presence,
                checksums,
                size,
            },
        )
}

/// A `sync.protect` pattern and, independently of globset, what it matches.
#[derive(Debug, Clone)]
enum Protect {
    /// `hello*`
    NamePrefix(usize),
    /// `fedora/39/*`
    DistroVersion(usize),
    /// `*.src.rpm`
    Suffix(usize),
    /// `hello-1.0-1.1.x86_64.rpm`
    Filename(usize, usize, usize),
    /// `fedora/39/hello-1.0-1.1.x86_64.rpm`
    Key(usize, usize, usize, usize),
}

impl Protect {
    fn glob(&self) -> String {
        let dvs = all_distro_versions();
        match *self {
            Protect::NamePrefix(n) => format!("{}*", NAMES[n]),
            Protect::DistroVersion(d) => format!("{}/*", dvs[d]),
            Protect::Suffix(s) => format!("*{}", SUFFIXES[s]),
            Protect::Filename(n, v, k) => KINDS[k].filename(NAMES[n], VERSIONS[v]),
            Protect::Key(d, n, v, k) => {
                format!("{}/{}", dvs[d], KINDS[k].filename(NAMES[n], VERSIONS[v]))
            }
        }
    }

    /// Matched against the filename and against `distro/version/filename`.
    fn matches(&self, key: &ArtifactKey) -> bool {
        let full = format!("{}/{}", key.distro_version, key.filename);
        let dvs = all_distro_versions();
        match *self {
            Protect::NamePrefix(n) => {
                key.filename.starts_with(NAMES[n]) || full.starts_with(NAMES[n])
            }
            Protect::DistroVersion(d) => full.starts_with(&format!("{}/", dvs[d])),
            Protect::Suffix(s) => key.filename.ends_with(SUFFIXES[s]),
            Protect::Filename(..) | Protect::Key(..) => {
                let glob = self.glob();
                key.filename == glob || full == glob
            }
        }
    }
}

fn protect() -> impl Strategy<Value = Protect> {
    let dvs = MAPPING.len() + OUT_OF_SCOPE.len();
    prop_oneof![
        (0..NAMES.len()).prop_map(Protect::NamePrefix),
        (0..dvs).prop_map(Protect::DistroVersion),
        (0..SUFFIXES.len()).prop_map(Protect::Suffix),
        (0..NAMES.len(), 0..VERSIONS.len(), 0..KINDS.len())
            .prop_map(|(n, v, k)| Protect::Filename(n, v, k)),
        (0..dvs, 0..NAMES.len(), 0..VERSIONS.len(), 0..KINDS.len())
            .prop_map(|(d, n, v, k)| Protect::Key(d, n, v, k)),
    ]
}

/// Settings with random guards; `allow_deletes` is decided by each property.
fn settings() -> impl Strategy<Value = (Settings, Vec<Protect>)> {
    (
        any::<bool>(),
        prop::collection::vec(protect(), 0..4),
        0usize..30,
        0u32..=100,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(mirror, protect, max_deletes, pct, replace, source, debug, list_skips)| {
                let settings = Settings {
                    mirror,
                    protect: protect.iter().map(Protect::glob).collect(),
                    max_deletes,
                    max_delete_percent: pct,
                    replace,
                    source_packages: source,
                    debug_packages: debug,
                    allow_deletes: None,
                    list_skips,
                    // Random versions make sources that went backwards; the
                    // downgrade rule has tests of its own (`listed_packages`).
                    allow_downgrade: true,
                };
                (settings, protect)
            },
        )
}

/// The two inventories as lists (unique keys), plus the kind of every key.
#[derive(Debug, Clone)]
struct World {
    source: Vec<SourceArtifact>,
    target: Vec<TargetPackage>,
    kinds: BTreeMap<ArtifactKey, Kind>,
}

/// Turns random entries into inventories a real OBS and Packagecloud could show:
/// unique keys; the source only offers what the config syncs, in mapped
/// distro/versions; conflicting checksums only when `conflicts` is set.
fn world(entries: &[Entry], settings: &Settings, conflicts: bool) -> World {
    let dvs = all_distro_versions();
    let mut world = World {
        source: Vec::new(),
        target: Vec::new(),
        kinds: BTreeMap::new(),
    };
    for (i, e) in entries.iter().enumerate() {
        let kind = KINDS[e.kind];
        let dv = dvs[e.distro_version];
        let filename = kind.filename(NAMES[e.name], VERSIONS[e.version]);
        let key = ArtifactKey::new(dv, &filename);
        if world.kinds.insert(key, kind).is_some() {
            continue;
        }
        let offered = in_scope(dv) && kind.synced_by(settings);
        let presence = if offered {
            e.presence
        } else {
            Presence::Target
        };
        let content = sha(e.size);
        let (ours, theirs) = match e.checksums {
            Checksums::NoneKnown => (None, None),
            Checksums::SourceKnown => (Some(content.clone()), None),
            Checksums::TargetKnown => (None, Some(content.clone())),
            Checksums::Same => (Some(content.clone()), Some(content.clone())),
            Checksums::SameOtherCase => (Some(content.clone()), Some(content.to_uppercase())),
            Checksums::Differ if conflicts => (Some(content.clone()), Some(sha(e.size + 1))),
            Checksums::Differ => (Some(content.clone()), Some(content.clone())),
        };
        if presence != Presence::Target {
            world
                .source
                .push(source_artifact(dv, kind, &filename, e.size, ours));
        }
        if presence != Presence::Source {
            // A file only on the target has whatever checksum it has.
            let theirs = if presence == Presence::Target {
                Some(sha(e.size + i as u64))
            } else {
                theirs
            };
            world
                .target
                .push(target_package(dv, kind, &filename, theirs));
        }
    }
    world
}

fn inventories(world: &World) -> (SourceInventory, TargetInventory) {
    (
        source_inventory(world.source.iter().cloned()),
        target_inventory(world.target.iter().cloned()),
    )
}

fn deletes_of(plan: &Plan) -> BTreeSet<ArtifactKey> {
    plan.actions
        .iter()
        .filter(|a| a.action == ActionKind::Delete)
        .map(|a| a.key())
        .collect()
}

/// What the deletion guards should decide, from their documented rules.
fn guards_pass(deletes: usize, in_scope: usize, guards: &Guards) -> bool {
    deletes == 0
        || guards.allow_deletes.is_some_and(|n| deletes <= n)
        || (deletes <= guards.max_deletes
            && deletes * 100 <= guards.max_delete_percent as usize * in_scope)
}

// ---------------------------------------------------------------- 1. determinism

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The same inventories, built in any order, give byte-identical plan files
    /// (or the same error), and the file reads back to the same plan.
    #[test]
    fn same_inputs_in_any_order_give_identical_plan_files(
        entries in prop::collection::vec(entry(), 0..40),
        (mut settings, _) in settings(),
        allow in prop::option::of(0usize..20),
        shuffle_seed in any::<u64>(),
    ) {
        settings.allow_deletes = allow;
        let world = world(&entries, &settings, true);
        let (policy, context) = setup(&settings);
        let (source, target) = inventories(&world);

        // The same content, inserted in another order.
        let mut shuffled = world.clone();
        let mut rng = Lcg(shuffle_seed);
        rng.shuffle(&mut shuffled.source);
        rng.shuffle(&mut shuffled.target);
        shuffled.source.reverse();
        let (source2, target2) = inventories(&shuffled);
        let policy2 = policy.clone();

        match (make_plan(&source, &target, &policy, &context), make_plan(&source2, &target2, &policy2, &context)) {
            (Ok(first), Ok(second)) => {
                let text = file::to_file_text(&first);
                prop_assert_eq!(&text, &file::to_file_text(&second));
                prop_assert_eq!(&first.plan_id, &second.plan_id);
                let read = file::parse(&text, Path::new("plan.json")).map_err(|e| {
                    TestCaseError::fail(format!("a fresh plan file does not read back: {e}"))
                })?;
                prop_assert_eq!(&read, &first);

                // And the plan_id is not constant: different observations, different id.
                if let Some(first_artifact) = world.source.first() {
                    let mut changed = source.clone();
                    *changed.artifacts.get_mut(&first_artifact.key).unwrap().size.as_mut().unwrap() += 1;
                    if let Ok(other) = make_plan(&changed, &target, &policy, &context) {
                        prop_assert_ne!(&other.plan_id, &first.plan_id);
                    }
                }
            }
            (Err(a), Err(b)) => prop_assert_eq!(format!("{a:?}"), format!("{b:?}")),
            (a, b) => prop_assert!(false, "one order planned, the other failed: {:?} / {:?}", a.err(), b.err()),
        }
    }
}

/// A tiny deterministic shuffler, so a failing case replays from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------- 2. convergence

/// Applies the plan to the target as Packagecloud would end up, checking first
/// what each action says it expects to find.
fn simulate_apply(
    plan: &Plan,
    source: &SourceInventory,
    target: &mut TargetInventory,
) -> Result<(), TestCaseError> {
    for action in &plan.actions {
        let key = action.key();
        let stored = target.packages.get(&key);
        let expectation = match stored {
            None => TargetExpectation::absent(),
            Some(p) => TargetExpectation {
                present: true,
                sha256: p.sha256.clone(),
            },
        };
        prop_assert_eq!(&action.target, &expectation, "precondition of {:?}", action);
        match action.action {
            ActionKind::Upload | ActionKind::Replace => {
                let artifact = source.artifacts.get(&key).ok_or_else(|| {
                    TestCaseError::fail(format!("{key} is uploaded but not in the source"))
                })?;
                prop_assert_eq!(
                    action.source.as_ref(),
                    Some(&SourceExpectation::from_artifact(artifact))
                );
                prop_assert_eq!(action.package_type.as_str(), artifact.package_type.as_str());
                prop_assert_eq!(stored.is_some(), action.action == ActionKind::Replace);
                let uploaded = TargetPackage {
                    key: key.clone(),
                    package_type: action.package_type.clone(),
                    sha256: artifact.sha256.clone(),
                    md5: artifact.md5.clone(),
                    details_path: None,
                };
                target.packages.insert(key, uploaded);
            }
            ActionKind::Delete => {
                prop_assert!(action.source.is_none());
                prop_assert!(target.packages.remove(&key).is_some());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Plan, apply, plan again: nothing left to do, in either mode.
    #[test]
    fn a_new_plan_after_apply_has_no_actions(
        entries in prop::collection::vec(entry(), 0..40),
        (mut settings, _) in settings(),
    ) {
        settings.allow_deletes = Some(10_000);
        // Content that differs is only plannable when the policy replaces it.
        let world = world(&entries, &settings, settings.replace);
        let (policy, context) = setup(&settings);
        let (source, mut target) = inventories(&world);

        let first = make_plan(&source, &target, &policy, &context)
            .map_err(|e| TestCaseError::fail(format!("first plan failed: {e}")))?;
        prop_assert_eq!(first.summary.upload + first.summary.replace + first.summary.delete, first.actions.len());
        simulate_apply(&first, &source, &mut target)?;

        let second = make_plan(&source, &target, &policy, &context)
            .map_err(|e| TestCaseError::fail(format!("plan after apply failed: {e}")))?;
        prop_assert!(!second.summary.has_changes(), "{:?}", second.summary);
        prop_assert!(second.actions.is_empty(), "{:?}", second.actions);
        prop_assert_eq!(second.summary.unchanged, source.artifacts.len());

        // With the guards back in force, too: there is nothing left to delete.
        let mut guarded = policy.clone();
        guarded.allow_deletes = None;
        let third = make_plan(&source, &target, &guarded, &context)
            .map_err(|e| TestCaseError::fail(format!("guarded plan after apply failed: {e}")))?;
        prop_assert!(third.actions.is_empty());
    }
}

// ---------------------------------------------------------------- 3. where deletes fall

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Deletes hit exactly the orphans in scope, of a kind this config syncs, that
    /// no protect pattern matches; never anything in additive mode. When a guard
    /// trips, its error lists exactly those deletes.
    #[test]
    fn deletes_stay_in_scope_unprotected_and_of_synced_kinds(
        entries in prop::collection::vec(entry(), 0..40),
        (mut settings, patterns) in settings(),
        allow in prop::option::of(0usize..20),
    ) {
        settings.allow_deletes = allow;
        let world = world(&entries, &settings, false);
        let (policy, context) = setup(&settings);
        let (source, target) = inventories(&world);

        let expected: BTreeSet<ArtifactKey> = if settings.mirror {
            target
                .packages
                .keys()
                .filter(|k| !source.artifacts.contains_key(*k))
                .filter(|k| in_scope(&k.distro_version))
                .filter(|k| world.kinds[*k].synced_by(&settings))
                .filter(|k| !patterns.iter().any(|p| p.matches(k)))
                .cloned()
                .collect()
        } else {
            BTreeSet::new()
        };
        let in_scope_count = target.packages.keys().filter(|k| in_scope(&k.distro_version)).count();
        let guards = Guards {
            max_deletes: settings.max_deletes,
            max_delete_percent: settings.max_delete_percent,
            allow_deletes: allow,
        };

        match make_plan(&source, &target, &policy, &context) {
            Ok(plan) => {
                let deletes = deletes_of(&plan);
                for key in &deletes {
                    prop_assert!(settings.mirror, "additive mode deleted {}", key);
                    prop_assert!(in_scope(&key.distro_version), "deleted {} out of scope", key);
                    prop_assert!(
                        world.kinds[key].synced_by(&settings),
                        "deleted {}, a {:?} this config does not sync", key, world.kinds[key]
                    );
                    prop_assert!(
                        !patterns.iter().any(|p| p.matches(key)),
                        "deleted protected {} ({:?})", key, settings.protect
                    );
                    prop_assert!(!source.artifacts.contains_key(key));
                }
                prop_assert_eq!(&deletes, &expected);
                prop_assert_eq!(plan.summary.delete, deletes.len());
                prop_assert!(guards_pass(deletes.len(), in_scope_count, &guards));
            }
            Err(PlanError::GuardTripped { deletes, in_scope, .. }) => {
                let listed: BTreeSet<ArtifactKey> = deletes.iter().cloned().collect();
                prop_assert_eq!(listed.len(), deletes.len());
                prop_assert_eq!(&listed, &expected);
                prop_assert_eq!(in_scope, in_scope_count);
                prop_assert!(!guards_pass(deletes.len(), in_scope, &guards));
            }
            Err(e) => prop_assert!(false, "unexpected error: {e}"),
        }
    }
}

/// The kinds the issue names, one by one, against a mirror config that syncs
/// source and debug packages: Packagecloud's own `.dsc` (and its tarballs),
/// `.gem` and other files are never pkgsync's to delete.
#[test]
fn other_package_types_are_never_deleted_even_when_source_packages_sync() {
    let settings = Settings {
        source_packages: true,
        debug_packages: true,
        allow_deletes: Some(1000),
        ..Settings::default()
    };
    let (policy, context) = setup(&settings);
    let target = target_inventory(
        KINDS
            .iter()
            .map(|k| target_package("debian/12", *k, &k.filename("hello", "1.0-1"), None)),
    );
    let plan = make_plan(&source_inventory([]), &target, &policy, &context).unwrap();
    let deleted: BTreeSet<String> = deletes_of(&plan).into_iter().map(|k| k.filename).collect();
    let expected: BTreeSet<String> = KINDS
        .iter()
        .filter(|k| k.synced_by(&settings))
        .map(|k| k.filename("hello", "1.0-1"))
        .collect();
    assert_eq!(deleted, expected);
    for never in [
        "hello_1.0-1.dsc",
        "hello_1.0-1.orig.tar.gz",
        "hello_1.0-1.debian.tar.xz",
        "hello-1.0-1.gem",
    ] {
        assert!(!deleted.contains(never), "{never} was deleted");
    }
    assert!(deleted.contains("hello-1.0-1.src.rpm"));
    assert!(deleted.contains("hello-dbgsym_1.0-1_amd64.deb"));
    // Never synced, as Packagecloud would store them under other names.
    assert!(!deleted.contains("hello-1.0-1.nosrc.rpm"));
    assert!(!deleted.contains("hello-dbgsym_1.0-1_amd64.ddeb"));

    // Without source and debug packages in the filters, only binaries go.
    let (policy, context) = setup(&Settings {
        allow_deletes: Some(1000),
        ..Settings::default()
    });
    let plan = make_plan(&source_inventory([]), &target, &policy, &context).unwrap();
    let deleted: BTreeSet<String> = deletes_of(&plan).into_iter().map(|k| k.filename).collect();
    let binaries: BTreeSet<String> = [
        "hello-1.0-1.x86_64.rpm",
        "hello-doc-1.0-1.noarch.rpm",
        "hello_1.0-1_amd64.deb",
    ]
    .map(String::from)
    .into();
    assert_eq!(deleted, binaries, "udebs are not synced, so never deleted");
}

// ---------------------------------------------------------------- 4. guards

/// `n` orphans in fedora/39 beside `kept` packages the source still has there, and
/// `outside` packages out of scope (which never count).
fn orphans(n: usize, kept: usize, outside: usize) -> (SourceInventory, TargetInventory) {
    let name = |i: usize| format!("pkg{i:04}-1.0-1.1.x86_64.rpm");
    let source = source_inventory(
        (0..kept).map(|i| source_artifact("fedora/39", Kind::Rpm, &name(i), 100 + i as u64, None)),
    );
    let target = target_inventory(
        (0..kept + n)
            .map(|i| target_package("fedora/39", Kind::Rpm, &name(i), None))
            .chain((0..outside).map(|i| target_package("el/9", Kind::Rpm, &name(i), None))),
    );
    (source, target)
}

fn plan_guarded(
    n: usize,
    kept: usize,
    max_deletes: usize,
    pct: u32,
    allow: Option<usize>,
) -> Result<Plan, PlanError> {
    let (policy, context) = setup(&Settings {
        max_deletes,
        max_delete_percent: pct,
        allow_deletes: allow,
        ..Settings::default()
    });
    let (source, target) = orphans(n, kept, 7);
    make_plan(&source, &target, &policy, &context)
}

fn expect_tripped(result: Result<Plan, PlanError>, n: usize, in_scope_count: usize) -> String {
    match result {
        Err(PlanError::GuardTripped {
            deletes,
            in_scope,
            reason,
        }) => {
            let expected: Vec<ArtifactKey> = (0..n)
                .map(|i| {
                    ArtifactKey::new(
                        "fedora/39",
                        format!("pkg{:04}-1.0-1.1.x86_64.rpm", i + in_scope_count - n),
                    )
                })
                .collect();
            assert_eq!(deletes, expected, "the error lists every delete");
            assert_eq!(in_scope, in_scope_count);
            reason
        }
        Err(e) => panic!("expected the guard to trip, got {e}"),
        Ok(plan) => panic!("expected the guard to trip, got {}", plan.summary.delete),
    }
}

#[test]
fn max_deletes_passes_at_the_limit_and_trips_one_above() {
    // 100% allowed, so only the count guard is in play.
    let plan = plan_guarded(5, 0, 5, 100, None).unwrap();
    assert_eq!(plan.summary.delete, 5);
    let reason = expect_tripped(plan_guarded(6, 0, 5, 100, None), 6, 6);
    assert!(reason.contains("`sync.max_deletes` = 5"), "{reason}");
    assert!(!reason.contains("percent"), "{reason}");

    // A limit of zero lets nothing through.
    expect_tripped(plan_guarded(1, 10, 0, 100, None), 1, 11);
}

#[test]
fn percentage_guard_passes_at_the_boundary_and_trips_above() {
    // 3 of 30 in scope is exactly 10%: passes. Out-of-scope packages do not count.
    let plan = plan_guarded(3, 27, 1000, 10, None).unwrap();
    assert_eq!(plan.summary.delete, 3);
    // 4 of 31 is above 10% (and 4 * 100 > 10 * 31 by the smallest margin here).
    let reason = expect_tripped(plan_guarded(4, 27, 1000, 10, None), 4, 31);
    assert!(
        reason.contains("`sync.max_delete_percent` = 10%"),
        "{reason}"
    );
    assert!(!reason.contains("max_deletes"), "{reason}");
    // 3 of 29 is above 10% too, with fewer packages kept.
    expect_tripped(plan_guarded(3, 26, 1000, 10, None), 3, 29);
    // Both guards at once name both reasons.
    let reason = expect_tripped(plan_guarded(4, 27, 3, 10, None), 4, 31);
    assert!(
        reason.contains("max_deletes") && reason.contains("max_delete_percent"),
        "{reason}"
    );
}

#[test]
fn allow_deletes_lifts_both_guards_up_to_n_and_not_n_plus_one() {
    // Both guards at zero: nothing may go without `--allow-deletes`.
    expect_tripped(plan_guarded(4, 0, 0, 0, None), 4, 4);
    let plan = plan_guarded(4, 0, 0, 0, Some(4)).unwrap();
    assert_eq!(plan.summary.delete, 4);
    assert_eq!(plan.guards.allow_deletes, Some(4));
    let reason = expect_tripped(plan_guarded(5, 0, 0, 0, Some(4)), 5, 5);
    assert!(reason.contains("`--allow-deletes 4` is fewer"), "{reason}");
    assert!(
        reason.contains("max_deletes") && reason.contains("max_delete_percent"),
        "{reason}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `check_guards` (shared by plan and apply) around every boundary.
    #[test]
    fn guards_decide_by_their_rules(
        in_scope in 0usize..200,
        delete_share in 0usize..=200,
        max_deletes in 0usize..50,
        max_delete_percent in 0u32..=100,
        allow in prop::option::of(0usize..60),
        nudge in -1isize..=1,
    ) {
        // Aim at the boundaries: the count, the percentage and `--allow-deletes`.
        let n = match delete_share % 4 {
            0 => (max_deletes as isize + nudge).max(0) as usize,
            1 => ((max_delete_percent as usize * in_scope / 100) as isize + nudge).max(0) as usize,
            2 => allow.map_or(0, |a| (a as isize + nudge).max(0) as usize),
            _ => delete_share * in_scope / 200,
        }
        .min(in_scope);
        let deletes: Vec<ArtifactKey> = (0..n).map(|i| ArtifactKey::new("fedora/39", format!("p{i}.rpm"))).collect();
        let guards = Guards { max_deletes, max_delete_percent, allow_deletes: allow };
        let passes = guards_pass(n, in_scope, &guards);
        match check_guards(&deletes, in_scope, &guards) {
            Ok(()) => prop_assert!(passes),
            Err(PlanError::GuardTripped { deletes: listed, in_scope: counted, reason }) => {
                prop_assert!(!passes);
                prop_assert_eq!(listed, deletes);
                prop_assert_eq!(counted, in_scope);
                prop_assert_eq!(reason.contains("max_deletes"), n > max_deletes);
                prop_assert_eq!(
                    reason.contains("max_delete_percent"),
                    n * 100 > max_delete_percent as usize * in_scope
                );
            }
            Err(e) => prop_assert!(false, "unexpected error: {e}"),
        }
    }
}

// ---------------------------------------------------------------- 5. conflicts and replace

fn one_on_each_side(
    ours: Option<&str>,
    theirs: Option<&str>,
) -> (SourceInventory, TargetInventory) {
    let filename = "hello-1.0-1.1.x86_64.rpm";
    let source = source_inventory([source_artifact(
        "fedora/39",
        Kind::Rpm,
        filename,
        1234,
        ours.map(String::from),
    )]);
    let target = target_inventory([target_package(
        "fedora/39",
        Kind::Rpm,
        filename,
        theirs.map(String::from),
    )]);
    (source, target)
}

#[test]
fn differing_checksums_are_a_conflict_unless_replace() {
    let (ours, theirs) = (sha(1), sha(2));
    let (source, target) = one_on_each_side(Some(&ours), Some(&theirs));

    let (policy, context) = setup(&Settings::default());
    match make_plan(&source, &target, &policy, &context) {
        Err(PlanError::Conflicts(conflicts)) => {
            assert_eq!(conflicts.len(), 1);
            let c = &conflicts[0];
            assert_eq!(
                c.key,
                ArtifactKey::new("fedora/39", "hello-1.0-1.1.x86_64.rpm")
            );
            assert_eq!(
                c.origin,
                "home:example:stable/Fedora_39/x86_64/hello/hello-1.0-1.1.x86_64.rpm"
            );
            assert!(
                c.detail.contains(&ours) && c.detail.contains(&theirs),
                "{}",
                c.detail
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    let (policy, context) = setup(&Settings {
        replace: true,
        ..Settings::default()
    });
    let plan = make_plan(&source, &target, &policy, &context).unwrap();
    assert_eq!(plan.actions.len(), 1);
    let action = &plan.actions[0];
    assert_eq!(action.action, ActionKind::Replace);
    assert_eq!(
        action.target,
        TargetExpectation {
            present: true,
            sha256: Some(theirs.clone())
        }
    );
    assert_eq!(
        action.source,
        Some(SourceExpectation::from_artifact(
            source.artifacts.values().next().unwrap()
        ))
    );
    assert_eq!(plan.summary.replace, 1);
    assert_eq!(
        plan.summary.upload + plan.summary.delete + plan.summary.unchanged,
        0
    );
}

#[test]
fn checksums_known_on_one_side_only_or_equal_are_no_conflict() {
    let digest = sha(1);
    let upper = digest.to_uppercase();
    for (ours, theirs) in [
        (None, None),
        (Some(digest.as_str()), None),
        (None, Some(digest.as_str())),
        (Some(digest.as_str()), Some(digest.as_str())),
        (Some(digest.as_str()), Some(upper.as_str())),
    ] {
        let (source, target) = one_on_each_side(ours, theirs);
        for replace in [false, true] {
            let (policy, context) = setup(&Settings {
                replace,
                ..Settings::default()
            });
            let plan = make_plan(&source, &target, &policy, &context).unwrap();
            assert!(plan.actions.is_empty(), "{ours:?} / {theirs:?}");
            assert_eq!(plan.summary.unchanged, 1);
        }
    }
}
