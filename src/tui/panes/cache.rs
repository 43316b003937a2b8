//! The cache pane: bytecode-cache hit rate, hits, misses, entries, memory and evictions once
//! the cache lands (a plain "not available" note until then), and the optimizer's figures.

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

impl Pane for CachePane {
    fn id(&self) -> PaneId {
        PaneId::Cache
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let inner = frame(area, buf, title("Cache", String::new(), theme, focused), theme, focused);
        let Some(snap) = &self.snap else { return };
        let mut y = inner.y;
        let width = inner.width;
        match &snap.cache {
            Some(cache) => {
                if y < inner.bottom() {
                    let label = format!("hit rate {:.1}%", cache.hit_rate() * 100.0);
                    Gauge::default()
                        .ratio(cache.hit_rate().clamp(0.0, 1.0))
                        .label(label)
                        .gauge_style(theme.fg(theme.gauge))
                        .render(Rect { y, height: 1, ..inner }, buf);
                    y += 1;
                }
                let lines = [
                    format!("hits {}  misses {}", thousands(cache.hits), thousands(cache.misses)),
                    format!(
                        "entries {}  memory {} KiB  evictions {}",
                        thousands(cache.entries),
                        thousands(cache.memory_bytes / 1024),
                        thousands(cache.evictions)
                    ),
                ];
                for line in lines {
                    if y >= inner.bottom() {
                        break;
                    }
                    put_raw(buf, inner.x + 1, y, &line, width.saturating_sub(1), theme.text());
                    y += 1;
                }
            }
            None => {
                if y < inner.bottom() {
                    put_raw(
                        buf,
                        inner.x + 1,
                        y,
                        "cache stats: not available yet",
                        width.saturating_sub(1),
                        theme.placeholder(),
                    );
                    y += 1;
                }
            }
        }
        let program = &snap.program;
        let summary = format!(
            "optimizer: {} → {} instr",
            thousands(program.unoptimized_len as u64),
            thousands(program.optimized_len as u64)
        );
        if y < inner.bottom() {
            put_raw(buf, inner.x + 1, y, &summary, width.saturating_sub(1), theme.dimmed());
            y += 1;
        }
        for stats in &program.pass_stats {
            if y >= inner.bottom() {
                break;
            }
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
            let line = format!("  {:<10}{what}", format!("{}:", stats.pass));
            put_raw(buf, inner.x + 1, y, &line, width.saturating_sub(1), theme.dimmed());
            y += 1;
        }
    }
}
