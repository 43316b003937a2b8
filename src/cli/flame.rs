//! `zexus-tui flame FILE` and `zexus-tui export FILE`: the headless twins of the TUI's flame
//! view (`P`) and export menu (`e`). Both run the program under the debugger, as `snapshot`
//! does (its output is captured, not printed), to its end or `--steps N`; `flame` prints the
//! function table and the call tree (or, with `--json`, the `FlameView` on stdout), `export`
//! writes every format of the session into one directory.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::RunOpts;
use crate::engine::debug::{Debugger, Goal};
use crate::engine::flame::{FlameView, SortKey};

/// Arguments of `flame`.
#[derive(Debug, Args)]
pub struct FlameArgs {
    /// The program.
    pub file: PathBuf,
    /// Print the flame view as JSON on stdout (the `flame` field of `snapshot --json`).
    #[arg(long)]
    pub json: bool,
    /// Sort the function table by: total, self, calls, native, time, name.
    #[arg(long, value_name = "KEY", default_value = "total", value_parser = parse_sort)]
    pub sort: SortKey,
    /// Rows of the function table and of the tree in the text form.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Stop after N instructions [default: run to the end].
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    #[command(flatten)]
    pub opts: RunOpts,
    /// Arguments passed to the program as `__ARGS__` (everything after FILE).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The program.
    pub file: PathBuf,
    /// The directory to write into (made if missing) [default: zexus-export-<program>-<time>].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Stop after N instructions [default: run to the end].
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    #[command(flatten)]
    pub opts: RunOpts,
    /// Arguments passed to the program as `__ARGS__` (everything after FILE).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

fn parse_sort(name: &str) -> Result<SortKey, String> {
    SortKey::from_name(name).ok_or_else(|| {
        let all: Vec<&str> = SortKey::ALL.iter().map(|k| k.name()).collect();
        format!("unknown sort key '{name}' (keys: {})", all.join(", "))
    })
}

/// Loads `file` and runs it under the debugger to its end (or `steps` instructions).
fn run_debugger(
    file: &std::path::Path,
    opts: &RunOpts,
    args: &[String],
    steps: Option<u64>,
) -> Result<Debugger, ExitCode> {
    let main = super::module_fs::load_main(file)?;
    let mut options = opts.options();
    options.vm.args = args.to_vec();
    let built = Debugger::with_program(&main.path, &main.src, main.program.clone(), &options, super::make_cache(opts));
    let mut debugger = built.map_err(|diags| main.report(&diags))?;
    if steps != Some(0) {
        debugger.run_to_stop(Goal::Continue, steps.unwrap_or(u64::MAX));
        debugger.pause();
    }
    Ok(debugger)
}

/// Runs `flame`.
pub fn cmd_flame(args: &FlameArgs) -> ExitCode {
    let debugger = match run_debugger(&args.file, &args.opts, &args.args, args.steps) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let view = debugger.flame_view();
    let text = if args.json {
        match serde_json::to_string_pretty(&view) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot serialize the flame view: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        // Function names come from the program: never raw.
        crate::sanitize::clean_lines(&render_text(&view, args.sort, args.top))
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn percent(part: u64, whole: u64) -> String {
    match (part * 1000).checked_div(whole) {
        Some(pm) => format!("{}.{}%", pm / 10, pm % 10),
        None => "-".to_string(),
    }
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The text form: the function table sorted by `sort`, then the call tree (widest first),
/// `top` rows of each.
pub fn render_text(view: &FlameView, sort: SortKey, top: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "flame: {} instructions ({} native, {}), {} stacks",
        grouped(view.total_instructions),
        grouped(view.native_instructions),
        percent(view.native_instructions, view.total_instructions),
        view.stacks
    );
    let _ = writeln!(s, "\nfunctions (sorted by {}):", sort.name());
    let _ =
        writeln!(s, "  {:>10}  {:>14}  {:>14}  {:>7}  {:>7}  function", "calls", "self", "total", "total%", "native");
    for row in view.sorted_functions(sort).iter().take(top) {
        let _ = writeln!(
            s,
            "  {:>10}  {:>14}  {:>14}  {:>7}  {:>7}  {}",
            grouped(row.calls),
            grouped(row.self_instructions),
            grouped(row.total_instructions),
            percent(row.total_instructions, view.total_instructions),
            percent(row.native_instructions, row.self_instructions),
            row.name
        );
    }
    let _ = writeln!(s, "\ncall tree (total instructions, native share):");
    for (i, node) in view.nodes.iter().enumerate().take(top) {
        let _ = i;
        let _ = writeln!(
            s,
            "  {:indent$}{} ×{}  {} ({})  native {}",
            "",
            node.name,
            grouped(node.calls),
            grouped(node.total_instructions),
            percent(node.total_instructions, view.total_instructions),
            percent(node.native_instructions, node.total_instructions),
            indent = 2 * node.depth as usize
        );
    }
    if view.nodes.len() > top {
        let _ = writeln!(s, "  … {} more stacks (--top N shows more)", view.nodes.len() - top);
    }
    s
}

/// The default export directory for a program `stem` at `unix_secs`:
/// `zexus-export-<stem>-YYYYMMDD-HHMMSS` (UTC).
pub fn default_export_dir(stem: &str, unix_secs: u64) -> PathBuf {
    PathBuf::from(format!("zexus-export-{stem}-{}", utc_stamp(unix_secs)))
}

/// `YYYYMMDD-HHMMSS` in UTC (Howard Hinnant's civil-from-days).
pub fn utc_stamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Seconds since the Unix epoch now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Runs `export`.
pub fn cmd_export(args: &ExportArgs) -> ExitCode {
    let stem = args.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "program".into());
    let dir = args.dir.clone().unwrap_or_else(|| default_export_dir(&stem, now_secs()));
    if crate::atomic_file::same_file(&dir, &args.file) {
        eprintln!("error: the export directory {} is the program itself; choose another --dir", dir.display());
        return ExitCode::from(2);
    }
    let debugger = match run_debugger(&args.file, &args.opts, &args.args, args.steps) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let files = match debugger.export_files() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot export: {e}");
            return ExitCode::from(1);
        }
    };
    let named: Vec<(&str, &[u8])> = files.iter().map(|f| (f.name, f.bytes.as_slice())).collect();
    match crate::atomic_file::write_files(&dir, &named) {
        Ok(written) => {
            eprintln!("export: wrote {} files to {}", written.len(), dir.display());
            for f in &files {
                eprintln!("  {:<24} {}", f.name, f.what);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: export failed: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2026-12-04 02:15:30 UTC.
        assert_eq!(utc_stamp(1_796_350_530), "20261204-021530");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
    }
}
