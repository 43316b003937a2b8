//! The debugger's flame graph and its one export of every format of the session: what the
//! TUI's flame view and export menu show and write, and `snapshot`, `flame` and `export`
//! print or write headless. Files are made as bytes here; the caller writes them.

use super::Debugger;
use crate::diag::files::{SourceFile, SourceFiles};
use crate::engine::flame::{self, EXPORT_FORMATS, ExportFile, FlameView};
use crate::trace::report::ProfileReport;

impl Debugger {
    /// The flame graph and function table of the run so far.
    pub fn flame_view(&self) -> FlameView {
        match self.recorder.try_borrow() {
            Ok(r) => FlameView::from_tree(r.flame().tree()),
            Err(_) => FlameView::default(),
        }
    }

    /// Every export format of the run so far, in [`EXPORT_FORMATS`] order: the Chrome trace,
    /// speedscope, collapsed stacks, the statistics and the profile (as `stats --json` and
    /// `profile --json` write them).
    pub fn export_files(&self) -> Result<Vec<ExportFile>, String> {
        let recorder = self.recorder.try_borrow().map_err(|_| "the recorder is busy".to_string())?;
        let files = self.session.files();
        let name = files.files.first().map_or("<program>", |f| f.display.as_str());
        let mut trace = Vec::new();
        recorder.export(&mut trace).map_err(|e| e.to_string())?;
        let tree = recorder.flame().tree();
        let speedscope = flame::speedscope_json(tree, name).into_bytes();
        let collapsed = flame::collapsed_stacks(tree).into_bytes();
        let mut profile = recorder.profile();
        if let Some(counts) = self.session.exec_counts() {
            profile.set_exec_counts(counts);
        }
        let stats = self.session.stats_so_far(profile.run_ns / 1000);
        let stats = pretty(&stats)?;
        let sources = SourceFiles {
            files: files
                .files
                .iter()
                .map(|f| SourceFile {
                    name: f.name.clone(),
                    display: f.display.clone(),
                    text: f.source.clone(),
                    base: f.base,
                })
                .collect(),
        };
        let report = ProfileReport::new_in(&profile, &self.session.build.program, &sources, name);
        let profile = pretty(&report)?;
        let bytes = [trace, speedscope, collapsed, stats, profile];
        Ok(EXPORT_FORMATS.iter().zip(bytes).map(|(&(name, what), bytes)| ExportFile { name, what, bytes }).collect())
    }
}

/// `value` as pretty JSON and a newline.
fn pretty<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_string_pretty(value).map(|s| (s + "\n").into_bytes()).map_err(|e| e.to_string())
}
