//! The `_result` view of the OBS emulator: per repository and arch the package
//! codes (`view=status`), their binaries (`view=binarylist`) and counts
//! (`view=summary`), filtered as the backend filters them, with the backend's
//! errors for unknown parameters, views, repositories and packages.

use super::binaries::{binary_entries, build_of};
use super::{Query, Reply, no_project};
use crate::obs::xml::{self, Xml};
use crate::obs::{ObsProject, ObsState};
use axum::http::StatusCode;
use md5::{Digest, Md5};

/// A `_result` request, checked as the backend checks it.
struct ResultRequest<'a> {
    project: &'a str,
    built: &'a ObsProject,
    views: Vec<&'a str>,
    repositories: Vec<&'a str>,
    archs: Vec<&'a str>,
    codes: Vec<&'a str>,
    packages: Vec<&'a String>,
}

pub(super) fn result(state: &ObsState, project: &str, query: &Query) -> Reply {
    match result_request(state, project, query) {
        Ok(request) => Reply::backend(StatusCode::OK, write_result(&request)),
        Err(reply) => reply,
    }
}

fn result_request<'a>(
    state: &'a ObsState,
    project: &'a str,
    query: &'a Query,
) -> Result<ResultRequest<'a>, Reply> {
    let allowed = [
        "view",
        "repository",
        "arch",
        "package",
        "multibuild",
        "locallink",
        "lastbuild",
        "code",
        "oldstate",
    ];
    query.check(&allowed, &["multibuild", "locallink", "lastbuild"])?;
    let Some(p) = state.projects.get(project) else {
        return Err(no_project(project));
    };
    let mut views = query.all("view");
    if views.is_empty() {
        views.push("status");
    }
    if let Some(bad) = views
        .iter()
        .find(|v| !matches!(**v, "status" | "binarylist" | "summary"))
    {
        return Err(Reply::backend_error(
            StatusCode::BAD_REQUEST,
            &format!("unknown view '{bad}'"),
            false,
        ));
    }
    let repo_filter = query.all("repository");
    if let Some(bad) = repo_filter
        .iter()
        .find(|r| !p.repositories.iter().any(|x| x.name == **r))
    {
        return Err(Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("unknown repository '{bad}'"),
            true,
        ));
    }
    let package_filter = query.all("package");
    if let Some(bad) = package_filter
        .iter()
        .find(|n| !p.packages.contains_key(**n))
    {
        return Err(Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("unknown package '{bad}'"),
            true,
        ));
    }
    let multibuild = query.flag("multibuild");
    let packages: Vec<&String> = p
        .packages
        .iter()
        .filter(|(name, pkg)| {
            package_filter.is_empty()
                || package_filter.contains(&name.as_str())
                || (multibuild
                    && pkg
                        .origin_package
                        .as_deref()
                        .is_some_and(|o| package_filter.contains(&o)))
        })
        .map(|(name, _)| name)
        .collect();
    Ok(ResultRequest {
        project,
        built: p,
        views,
        repositories: repo_filter,
        archs: query.all("arch"),
        codes: query.all("code"),
        packages,
    })
}

fn write_result(request: &ResultRequest<'_>) -> String {
    let ResultRequest {
        project,
        built: p,
        views,
        repositories: repo_filter,
        archs: arch_filter,
        codes: code_filter,
        packages,
    } = request;
    let code_of = |repo: &str, arch: &str, package: &str| {
        build_of(p, repo, arch, package).map_or("unknown", |b| b.code.as_str())
    };

    let state_attr = result_state(p);
    xml::document(|w| {
        let results: Vec<(&str, &str)> = p
            .repositories
            .iter()
            .filter(|r| repo_filter.is_empty() || repo_filter.contains(&r.name.as_str()))
            .flat_map(|r| r.archs.iter().map(move |a| (r, a)))
            .filter(|(_, a)| arch_filter.is_empty() || arch_filter.contains(&a.as_str()))
            .map(|(r, a)| (r.name.as_str(), a.as_str()))
            .collect();
        xml::list(
            w,
            "resultlist",
            &[("state", &state_attr)],
            &results,
            |w, (repo, arch)| {
                let repo_code = p
                    .repositories
                    .iter()
                    .find(|r| r.name == *repo)
                    .and_then(|r| r.states.get(*arch))
                    .map_or("published", String::as_str);
                let listed: Vec<&String> = packages
                    .iter()
                    .copied()
                    .filter(|n| {
                        code_filter.is_empty() || code_filter.contains(&code_of(repo, arch, n))
                    })
                    .collect();
                let attrs = [
                    ("project", *project),
                    ("repository", *repo),
                    ("arch", *arch),
                    ("code", repo_code),
                    ("state", repo_code),
                ];
                let has_children = !listed.is_empty() || views.contains(&"summary");
                let write_children = |w: &mut Xml| -> std::io::Result<()> {
                    if views.contains(&"status") {
                        for name in &listed {
                            xml::empty(
                                w,
                                "status",
                                &[("package", name), ("code", code_of(repo, arch, name))],
                            )?;
                        }
                    }
                    if views.contains(&"binarylist") {
                        for name in &listed {
                            let entries = binary_entries(build_of(p, repo, arch, name), false);
                            xml::write_binarylist(w, Some(name), &entries)?;
                        }
                    }
                    if views.contains(&"summary") {
                        write_summary(w, listed.iter().map(|n| code_of(repo, arch, n)))?;
                    }
                    Ok(())
                };
                if has_children {
                    xml::element(w, "result", &attrs, write_children)
                } else {
                    xml::empty(w, "result", &attrs)
                }
            },
        )
    })
}

fn write_summary<'a>(w: &mut Xml, codes: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for code in codes {
        *counts.entry(code).or_default() += 1;
    }
    let counts: Vec<(&str, usize)> = counts.into_iter().collect();
    xml::list(w, "summary", &[], &counts, |w, (code, n)| {
        xml::empty(
            w,
            "statuscount",
            &[("code", code), ("count", &n.to_string())],
        )
    })
}

/// The `state` digest of a result list: changes whenever a code or a binary does.
fn result_state(p: &ObsProject) -> String {
    if p.repositories.is_empty() {
        return "0".repeat(32);
    }
    let mut digest = Md5::new();
    for (key, build) in &p.builds {
        digest.update(format!(
            "{}/{}/{}={}\n",
            key.repository, key.arch, key.package, build.code
        ));
        for (name, b) in &build.binaries {
            digest.update(format!("{name} {} {}\n", b.bytes.len(), b.mtime));
        }
    }
    for repo in &p.repositories {
        digest.update(format!("{}:{:?}\n", repo.name, repo.states));
    }
    hex::encode(digest.finalize())
}
