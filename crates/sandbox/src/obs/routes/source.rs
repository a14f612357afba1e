//! `/source/<project>` and its `_meta`: what Rails answers from its database.

use super::{Query, Reply, package_entries};
use crate::obs::{ObsState, xml};
use axum::http::StatusCode;

pub(super) fn source_meta(state: &ObsState, project: &str) -> Reply {
    let Some(p) = state.projects.get(project) else {
        return unknown_project(project);
    };
    let body = xml::document(|w| {
        xml::element(w, "project", &[("name", project)], |w| {
            xml::text(w, "title", &p.title)?;
            xml::text(w, "description", &p.description)?;
            xml::empty(w, "person", &[("userid", "Admin"), ("role", "maintainer")])?;
            for repo in &p.repositories {
                xml::element(w, "repository", &[("name", &repo.name)], |w| {
                    repo.archs.iter().try_for_each(|a| xml::text(w, "arch", a))
                })?;
            }
            Ok(())
        })
    });
    Reply::rails(StatusCode::OK, body)
}

fn unknown_project(project: &str) -> Reply {
    Reply::rails_error(
        StatusCode::NOT_FOUND,
        "unknown_project",
        &format!("Project not found: {project}"),
    )
}

/// Without `deleted=` Rails answers from its database (`count` attribute); with it
/// the backend answers. Flavours are listed either way (newer OBS).
pub(super) fn source_list(state: &ObsState, project: &str, query: &Query) -> Reply {
    let Some(p) = state.projects.get(project) else {
        return unknown_project(project);
    };
    let entries = package_entries(p);
    let count = query.first("deleted").is_none().then_some(entries.len());
    Reply::rails(StatusCode::OK, xml::directory(&entries, count))
}
