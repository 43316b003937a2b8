//! The cache pane: the bytecode cache's hit rate as a gauge, hits, misses, entries, memory and
//! evictions (cumulative over the session: a restart rebuilds through the cache, so it shows
//! hits), what the latest build took from the cache (per file in a multi-file program, with why
//! a file's units were recompiled: it changed, or a module it imports did), and the optimizer's
//! figures.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Gauge, Widget};

use super::{Pane, PaneId, frame, put_raw, thousands, title};
use crate::engine::snapshot::SessionSnapshot;
use crate::tui::theme::Theme;

/// The cache pane.
#[derive(Default)]
pub struct CachePane {
    snap: Option<Arc<SessionSnapshot>>,
}

/// Bytes as KiB or MiB.
fn size(bytes: u64) -> String {
    if bytes >= 10 << 20 {
        format!("{} MiB", thousands(bytes >> 20))
    } else {
        format!("{} KiB", thousands(bytes.div_ceil(1024)))
    }
}

impl Pane for CachePane {
    fn id(&self) -> PaneId {
        PaneId::Cache
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let detail = match self.snap.as_ref().and_then(|s| s.cache.as_ref()) {
            Some(c) if c.enabled => format!("· build {}: {}/{} units cached", c.builds, c.last_hits, c.last_units),
            Some(_) => "· off (--no-cache)".to_string(),
            None => String::new(),
        };
        let inner = frame(area, buf, title("Cache", detail, theme, focused), theme, focused);
        let Some(snap) = &self.snap else { return };
        let mut y = inner.y;
        let width = inner.width;
        let line = |buf: &mut Buffer, y: &mut u16, text: &str, style| {
            if *y < inner.bottom() {
                put_raw(buf, inner.x + 1, *y, text, width.saturating_sub(1), style);
                *y += 1;
            }
        };
        match &snap.cache {
            Some(cache) if cache.enabled => {
                if y < inner.bottom() {
                    let lookups = cache.hits + cache.misses;
                    let label = format!("hit rate {:.1}% ({} of {lookups})", cache.hit_rate() * 100.0, cache.hits);
                    Gauge::default()
                        .ratio(cache.hit_rate().clamp(0.0, 1.0))
                        .label(label)
                        .gauge_style(theme.fg(theme.gauge))
                        .render(Rect { y, height: 1, ..inner }, buf);
                    y += 1;
                }
                let hits = format!("hits {}  misses {}", thousands(cache.hits), thousands(cache.misses));
                let store = format!(
                    "entries {}  {}  evictions {}",
                    thousands(cache.entries),
                    size(cache.memory_bytes),
                    thousands(cache.evictions)
                );
                if hits.chars().count() + store.chars().count() + 3 < width as usize {
                    line(buf, &mut y, &format!("{hits}  {store}"), theme.text());
                } else {
                    line(buf, &mut y, &hits, theme.text());
                    line(buf, &mut y, &store, theme.text());
                }
                if cache.builds == 1 {
                    line(buf, &mut y, "r: restart through the cache", theme.dimmed());
                }
                // A multi-file program: what the latest build took from the cache, per file.
                for f in &cache.files {
                    let name = crate::tui::sanitize::clean(snap.file_name(f.file));
                    let text = format!("{name}: {}/{} cached · {}", f.hits, f.units, f.why(cache.builds));
                    let style = if f.compiled.is_empty() { theme.text() } else { theme.fg(theme.hot) };
                    line(buf, &mut y, &text, style);
                }
            }
            Some(_) => line(buf, &mut y, "the bytecode cache is off: every unit compiles", theme.placeholder()),
            None => line(buf, &mut y, "no cache figures", theme.placeholder()),
        }
        let program = &snap.program;
        let summary = format!(
            "optimizer: {} → {} instr",
            thousands(program.unoptimized_len as u64),
            thousands(program.optimized_len as u64)
        );
        line(buf, &mut y, &summary, theme.dimmed());
        for stats in &program.pass_stats {
            let mut parts = Vec::new();
            if stats.removed > 0 {
                parts.push(format!("-{} instr", stats.removed));
            }
            for (n, what) in [
                (stats.folded, "folded"),
                (stats.branches_resolved, "branches"),
                (stats.jumps_threaded, "jumps"),
                (stats.fused, "fused"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            let what = if parts.is_empty() { "no change".to_string() } else { parts.join(", ") };
            line(buf, &mut y, &format!("  {:<10}{what}", format!("{}:", stats.pass)), theme.dimmed());
        }
    }
}
