//! Progress of an apply: bars for bytes and files on a terminal, plain lines
//! otherwise (CI logs), nothing with `-q`. Always on stderr.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bars,
    Lines,
    Quiet,
}

impl ProgressMode {
    /// Bars on a terminal, lines otherwise, unless quiet.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Self::Quiet
        } else if console::Term::stderr().is_term() {
            Self::Bars
        } else {
            Self::Lines
        }
    }
}

pub struct Progress {
    mode: ProgressMode,
    bytes: ProgressBar,
    files: ProgressBar,
    _multi: Option<MultiProgress>,
}

impl Progress {
    pub fn new(mode: ProgressMode, total_bytes: u64, total_files: u64) -> Self {
        if mode != ProgressMode::Bars {
            // Hidden bars still count, for the `[n/total]` of plain lines.
            let hidden =
                |len| ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
            return Self {
                mode,
                bytes: hidden(total_bytes),
                files: hidden(total_files),
                _multi: None,
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bytes = multi.add(ProgressBar::new(total_bytes));
        bytes.set_style(
            ProgressStyle::with_template(
                "{prefix:>9} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bytes.set_prefix("download");
        let files = multi.add(ProgressBar::new(total_files));
        files.set_style(
            ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        files.set_prefix("actions");
        Self {
            mode,
            bytes,
            files,
            _multi: Some(multi),
        }
    }

    pub fn bytes(&self, n: u64) {
        self.bytes.inc(n);
    }

    /// One action finished; `line` says what happened.
    pub fn action_done(&self, line: &str) {
        match self.mode {
            ProgressMode::Bars => {
                self.files.inc(1);
                self.files.set_message(line.to_string());
            }
            ProgressMode::Lines => {
                self.files.inc(1);
                eprintln!(
                    "[{}/{}] {line}",
                    self.files.position(),
                    self.files.length().unwrap_or(0)
                );
            }
            ProgressMode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        self.bytes.finish_and_clear();
        self.files.finish_and_clear();
    }
}
