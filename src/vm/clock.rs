//! The wall-clock builtins `time()` (milliseconds since the Unix epoch) and `timestamp()`
//! (seconds), as the reference has them; LANGUAGE.md §6 has no clock. The VM reads no clock
//! itself: the engine installs one ([`install_wall_clock`]) when it builds a session, and
//! without one the builtins fail. They are the only builtins whose result differs between runs
//! (ARCHITECTURE.md, "Language decisions").

use std::sync::OnceLock;
use std::time::Duration;

use super::error::{ErrorKind, VmError};
use super::value::Value;

/// The time since the Unix epoch, as the installed clock reads it.
pub type WallClock = fn() -> Duration;

static WALL_CLOCK: OnceLock<WallClock> = OnceLock::new();

/// Installs the process's wall clock; the first installation wins.
pub fn install_wall_clock(clock: WallClock) {
    // A second installation (every session build tries) keeps the first clock.
    let _ = WALL_CLOCK.set(clock);
}

fn since_epoch(name: &str, args: &[Value]) -> Result<Duration, VmError> {
    if !args.is_empty() {
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!("wrong number of arguments: {name}() takes 0, got {}", args.len()),
        ));
    }
    match WALL_CLOCK.get() {
        Some(clock) => Ok(clock()),
        None => Err(VmError::new(ErrorKind::NotCallable, format!("not callable: {name}() has no clock installed"))),
    }
}

/// `time()`: integer milliseconds since the Unix epoch.
pub fn b_time(args: &[Value], _: usize) -> Result<Value, VmError> {
    let d = since_epoch("time", args)?;
    Ok(Value::Int(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

/// `timestamp()`: integer seconds since the Unix epoch.
pub fn b_timestamp(args: &[Value], _: usize) -> Result<Value, VmError> {
    let d = since_epoch("timestamp", args)?;
    Ok(Value::Int(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}
