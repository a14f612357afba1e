//! `promote:`: another Packagecloud repository as the source, a staging
//! repository promoted to the target. Same host as the target; its own token
//! or the target's.

use super::raw::RawPromote;
use super::sections::distro_version;
use super::{Environment, PackagecloudTarget, Secret, SyncMode, TokenSource};
use crate::model::PromoteMethod;
use std::collections::BTreeMap;
use std::path::Path;

/// A promotion from another repository of the same Packagecloud host.
#[derive(Debug, Clone)]
pub struct Promotion {
    /// The source repository, its URL the target's.
    pub from: PackagecloudTarget,
    pub method: PromoteMethod,
    /// Source `distro/version` → target `distro/version`, as written; `None`:
    /// every `distro/version` the source holds, under the same name.
    pub distros: Option<BTreeMap<String, String>>,
    /// `require_after`: a plan must follow a reviewed plan of the source
    /// (`plan --after`), and apply refuses one that does not.
    pub require_after: bool,
}

pub(super) fn promotion(
    raw: &RawPromote,
    target: &PackagecloudTarget,
    mode: SyncMode,
    path: &Path,
    env: &Environment,
) -> Result<Promotion, String> {
    let from = raw.from.trim().to_string();
    if from.split('/').count() != 2 || from.split('/').any(str::is_empty) {
        return Err(format!(
            "`promote.from`: `{from}` must name `<user>/<repo>`"
        ));
    }
    if from == target.repo {
        return Err(format!(
            "`promote.from`: `{from}` is the target repository itself"
        ));
    }
    let distros = match &raw.distros {
        None => None,
        Some(written) => {
            let mut distros = BTreeMap::new();
            for (source, destination) in written {
                let key = format!("promote.distros.{source}");
                let source = distro_version(source, &key)?;
                let destination = match destination {
                    Some(d) => distro_version(d, &key)?,
                    None => source.clone(),
                };
                if raw.method == PromoteMethod::Move && destination != source {
                    return Err(format!(
                        "`{key}`: `method: move` keeps a package's `distro/version` (Packagecloud's promote call cannot change it); use `method: copy` to send it to `{destination}`"
                    ));
                }
                distros.insert(source, destination);
            }
            Some(distros)
        }
    };
    if mode == SyncMode::Mirror && distros.is_none() {
        return Err(
            "`promote.distros`: `sync.mode: mirror` deletes only in `distro/version`s the config names: list them under `promote.distros`".to_string(),
        );
    }
    if mode == SyncMode::Mirror && raw.method == PromoteMethod::Move {
        return Err(
            "`promote.method: move` cannot be combined with `sync.mode: mirror`: a move empties the source of what it promoted, so the next mirror plan would delete all of it from the target; use `method: copy`, or `sync.mode: additive`".to_string(),
        );
    }
    let (token, token_source) = if let Some(token) = &env.promote_token {
        (
            Some(Secret::new(token.clone())),
            TokenSource::PromoteEnvironment,
        )
    } else if let Some(token) = raw.auth.token.clone().filter(|t| !t.is_empty()) {
        (
            Some(token),
            TokenSource::PromoteConfigFile(path.to_path_buf()),
        )
    } else {
        (target.token.clone(), target.token_source.clone())
    };
    Ok(Promotion {
        from: PackagecloudTarget {
            url: target.url.clone(),
            repo: from,
            token,
            token_source,
        },
        method: raw.method,
        distros,
        require_after: raw.require_after,
    })
}
