//! Time as the trace layer sees it: a monotonic clock handed down by the engine, and fake
//! clocks for tests.

use std::cell::Cell;

/// A monotonic clock. Only the engine implements it over the system clock; everything below
/// the engine receives one instead of reading the time itself.
pub trait Clock {
    /// Microseconds since an arbitrary fixed origin; never decreases.
    fn now_us(&self) -> u64;

    /// Nanoseconds since the same origin; never decreases. Clocks with only microsecond
    /// resolution keep the default.
    fn now_ns(&self) -> u64 {
        self.now_us().saturating_mul(1000)
    }
}

/// A clock for tests: time only moves when told to, and optionally by a fixed step at every
/// reading, so traces and profiles come out the same on every run.
#[derive(Debug, Default)]
pub struct FakeClock {
    now_ns: Cell<u64>,
    step_ns: u64,
}

impl FakeClock {
    /// A clock at 0 that moves only through [`FakeClock::advance_ns`].
    pub fn new() -> FakeClock {
        FakeClock::default()
    }

    /// A clock at 0 that advances by `step_ns` after every reading.
    pub fn stepping(step_ns: u64) -> FakeClock {
        FakeClock { now_ns: Cell::new(0), step_ns }
    }

    /// Moves the clock forward.
    pub fn advance_ns(&self, delta_ns: u64) {
        self.now_ns.set(self.now_ns.get().saturating_add(delta_ns));
    }
}

impl Clock for FakeClock {
    fn now_us(&self) -> u64 {
        self.now_ns() / 1000
    }

    fn now_ns(&self) -> u64 {
        let now = self.now_ns.get();
        self.now_ns.set(now.saturating_add(self.step_ns));
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_clock_advances_per_reading() {
        let clock = FakeClock::stepping(250);
        assert_eq!(clock.now_ns(), 0);
        assert_eq!(clock.now_ns(), 250);
        clock.advance_ns(1000);
        assert_eq!(clock.now_ns(), 1500);
        assert_eq!(clock.now_us(), 1);
    }

    #[test]
    fn manual_clock_stands_still() {
        let clock = FakeClock::new();
        assert_eq!(clock.now_ns(), 0);
        assert_eq!(clock.now_ns(), 0);
        clock.advance_ns(7_000);
        assert_eq!(clock.now_us(), 7);
    }
}
