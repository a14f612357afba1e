//! Where a plan's files come from, as its renderings name them: the sources
//! in one markdown line, and each published repository with the keys its
//! metadata was verified against (or that it was not).

use crate::config::EffectiveConfig;
use crate::display::{self, ShownUrl};

/// A published repository or tree as the plan records it, unescaped.
struct Published<'a> {
    kind: &'static str,
    url: &'a str,
    /// Where its files go (`distro/version`, or the tree's mapping).
    into: String,
    signed_by: &'a [String],
}

fn published(config: &EffectiveConfig) -> Vec<Published<'_>> {
    let rpm_md = config.rpm_md.iter().map(|r| Published {
        kind: "rpm-md",
        url: &r.url,
        into: r.distro.clone(),
        signed_by: &r.signed_by,
    });
    let deb = config.deb.iter().map(|d| Published {
        kind: "deb",
        url: &d.url,
        into: d.distro.clone(),
        signed_by: &d.signed_by,
    });
    let gbs = config.gbs.iter().map(|t| {
        let mut distros: Vec<&str> = t
            .mapping
            .values()
            .filter(|v| !v.is_empty())
            .map(String::as_str)
            .collect();
        distros.sort_unstable();
        distros.dedup();
        Published {
            kind: "gbs",
            url: &t.url,
            into: distros.join(", "),
            signed_by: &t.signed_by,
        }
    });
    rpm_md.chain(deb).chain(gbs).collect()
}

/// `signed by <fingerprint>` (`one of` several), or `unsigned`: what the
/// plan recorded of `signed_by`; `show` gives each fingerprint its form.
fn signature(signed_by: &[String], show: impl Fn(&str) -> String) -> String {
    let keys: Vec<String> = signed_by.iter().map(|k| show(k)).collect();
    match keys.as_slice() {
        [] => "unsigned".to_string(),
        [one] => format!("signed by {one}"),
        several => format!("signed by one of {}", several.join(", ")),
    }
}

/// One line per published repository, unescaped (callers escape for their
/// medium): `rpm-md <url> → fedora/40: signed by <fingerprint>`.
pub(super) fn published_lines(config: &EffectiveConfig) -> Vec<String> {
    published(config)
        .iter()
        .map(|p| {
            format!(
                "{} {} → {}: {}",
                p.kind,
                ShownUrl::new(p.url),
                p.into,
                signature(p.signed_by, str::to_string)
            )
        })
        .collect()
}

/// Where the plan's files come from, in markdown: OBS projects, published
/// repositories (the first few, each signed or not), a promotion's source
/// repository.
pub(super) fn sources_line(config: &EffectiveConfig) -> String {
    let quoted = |s: &str| format!("`{}`", display::markdown(s));
    let mut sources = Vec::new();
    if !config.obs_projects.is_empty() {
        let projects: Vec<String> = config.obs_projects.iter().map(|p| quoted(p)).collect();
        sources.push(format!("OBS {}", projects.join(", ")));
    }
    let published: Vec<String> = published(config)
        .iter()
        .map(|p| {
            let signature = signature(p.signed_by, quoted);
            let url = ShownUrl::new(p.url).to_string();
            format!("{} {} ({signature})", p.kind, quoted(&url))
        })
        .collect();
    const SHOWN: usize = 5;
    sources.extend(published.iter().take(SHOWN).cloned());
    if published.len() > SHOWN {
        sources.push(format!("{} more repositories", published.len() - SHOWN));
    }
    if let Some(promote) = &config.promote {
        sources.push(format!(
            "Packagecloud {} (by {})",
            quoted(&promote.from),
            promote.method.as_str()
        ));
    }
    sources.join(", ")
}
