//! The wall-clock builtins `time()` (milliseconds since the Unix epoch) and `timestamp()`
//! (seconds), as the reference has them; LANGUAGE.md §6 has no clock. They are the only
//! builtins whose result differs between runs (ARCHITECTURE.md, "Language decisions").

use std::time::{SystemTime, UNIX_EPOCH};

use super::error::{ErrorKind, VmError};
use super::value::Value;

fn since_epoch(name: &str, args: &[Value]) -> Result<std::time::Duration, VmError> {
    if !args.is_empty() {
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!("wrong number of arguments: {name}() takes 0, got {}", args.len()),
        ));
    }
    // A clock set before 1970 reads as the epoch.
    Ok(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
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
