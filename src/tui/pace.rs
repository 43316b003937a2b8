//! How fast a run goes, so that it can be watched: full speed, a number of instructions per
//! second, or "animate" (one source line per interval, the way a tutor steps through). The UI
//! picks a [`Speed`] from the ladder with `<` and `>`; the VM thread holds a [`Pace`] and asks
//! it how many instructions the next slice may run.

use std::time::{Duration, Instant};

/// One rung of the speed ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    /// As fast as the VM goes.
    Full,
    /// At most this many instructions per second.
    Instructions(u64),
    /// One source line (a step into) per this many milliseconds.
    Animate(u64),
}

/// The ladder, fastest first.
pub const LADDER: [Speed; 9] = [
    Speed::Full,
    Speed::Instructions(10_000_000),
    Speed::Instructions(1_000_000),
    Speed::Instructions(100_000),
    Speed::Instructions(10_000),
    Speed::Instructions(1_000),
    Speed::Instructions(100),
    Speed::Animate(250),
    Speed::Animate(1_000),
];

impl Speed {
    /// How the status line names it.
    pub fn describe(self) -> String {
        match self {
            Speed::Full => "full speed".to_string(),
            Speed::Instructions(n) => format!("{} instructions/s", crate::tui::panes::thousands(n)),
            Speed::Animate(ms) => format!("animate: a line every {ms} ms"),
        }
    }

    /// The next rung slower (`false`) or faster (`true`), staying at the ends.
    pub fn step(self, faster: bool) -> Speed {
        let at = LADDER.iter().position(|s| *s == self).unwrap_or(0);
        let next = if faster { at.saturating_sub(1) } else { (at + 1).min(LADDER.len() - 1) };
        LADDER[next]
    }
}

/// The VM thread's pacing of a run.
#[derive(Debug)]
pub struct Pace {
    /// The chosen speed.
    pub speed: Speed,
    /// While animating: true until the user pauses or something other than a step stops it.
    pub animating: bool,
    /// When the next animated line is due.
    next_line: Instant,
    /// The start of the current throttled stretch and the instruction count then.
    since: (Instant, u64),
}

impl Default for Pace {
    fn default() -> Pace {
        Pace { speed: Speed::Full, animating: false, next_line: Instant::now(), since: (Instant::now(), 0) }
    }
}

impl Pace {
    /// Starts a throttled stretch at instruction count `instructions` (a run starts or the
    /// speed changes), so that time spent paused is not made up for in a burst.
    pub fn restart(&mut self, instructions: u64) {
        self.since = (Instant::now(), instructions);
        self.next_line = Instant::now();
    }

    /// At most how many instructions the next slice may run, `budget` being what it would run
    /// at full speed; 0 means wait.
    pub fn allowance(&self, budget: u64, instructions: u64) -> u64 {
        match self.speed {
            Speed::Full | Speed::Animate(_) => budget,
            Speed::Instructions(per_second) => {
                let (at, base) = self.since;
                let due = (at.elapsed().as_secs_f64() * per_second as f64) as u64;
                due.saturating_sub(instructions.saturating_sub(base)).min(budget)
            }
        }
    }

    /// While animating: whether the next line is due now.
    pub fn line_due(&self) -> bool {
        self.animating && Instant::now() >= self.next_line
    }

    /// While animating, after a line was stepped: schedules the next one.
    pub fn line_done(&mut self) {
        if let Speed::Animate(ms) = self.speed {
            self.next_line = Instant::now() + Duration::from_millis(ms);
        }
    }

    /// How long the VM thread may sleep before it has something to do for the pace.
    pub fn wait(&self, longest: Duration) -> Duration {
        if self.animating { self.next_line.saturating_duration_since(Instant::now()).min(longest) } else { longest }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_stays_at_its_ends() {
        assert_eq!(Speed::Full.step(true), Speed::Full);
        assert_eq!(Speed::Full.step(false), Speed::Instructions(10_000_000));
        assert_eq!(Speed::Animate(1_000).step(false), Speed::Animate(1_000));
        assert_eq!(Speed::Animate(1_000).step(true), Speed::Animate(250));
    }

    #[test]
    fn a_throttled_run_gets_what_the_clock_allows() {
        let mut pace = Pace { speed: Speed::Instructions(1_000), ..Pace::default() };
        pace.restart(500);
        assert_eq!(pace.allowance(100_000, 500), 0, "nothing is due at once");
        std::thread::sleep(Duration::from_millis(50));
        let allowed = pace.allowance(100_000, 500);
        assert!((40..=1_000).contains(&allowed), "about 50 ms worth: {allowed}");
        assert_eq!(pace.allowance(100_000, 500 + allowed), 0, "and no more once run");
        assert_eq!(Pace::default().allowance(7, 0), 7, "full speed: the whole budget");
    }
}
