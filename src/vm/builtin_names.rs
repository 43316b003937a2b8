//! The builtin functions' names and ids: a leaf module, so that values (which display a
//! builtin by name), the linker (which binds names to ids) and the builtins themselves
//! (`builtins.rs`, whose implementations are indexed by these ids) share one table without
//! importing each other.

/// Every builtin function's name; its index is its id (`Value::Builtin(id)`).
pub const NAMES: [&str; 33] = [
    "len",
    "str",
    "int",
    "float",
    "typeof",
    "push",
    "append",
    "keys",
    "values",
    "range",
    "sort",
    "slice",
    "abs",
    "sqrt",
    // DIALECT.md §11.
    "string",
    "first",
    "last",
    "min",
    "max",
    "pow",
    "map",
    "filter",
    "reduce",
    // CONTRACTS.md: the event log, and the declaration builtins the parser's desugaring calls
    // (their `%` names cannot be written in programs).
    "events",
    "%contract",
    "%entity",
    "%protocol",
    // MODULES.md §11: `is_main` as read in the main file, then as read in a module (the
    // linker binds a module's `is_main` to the second; both display as `is_main`).
    "is_main",
    "is_main",
    // The wall clock (`clock.rs`; not in the spec).
    "time",
    "timestamp",
    // What a slice `x[a:b]` calls (the parser's desugaring; ARCHITECTURE.md).
    "%slice",
    // `len` under the reference's other name (ARCHITECTURE.md).
    "length",
];

/// The id of `events` (the interpreter runs it, since it reads the event log).
pub const EVENTS_ID: u8 = 23;

/// The id of `is_main` as read in a module (it returns false).
pub const IS_MAIN_IN_MODULE: u8 = 28;

/// The id of builtin `name`, if there is one.
pub fn builtin_id(name: &str) -> Option<u8> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u8)
}

/// The name of builtin `id` (`builtin` for an unknown id).
pub fn builtin_name(id: u8) -> &'static str {
    NAMES.get(id as usize).copied().unwrap_or("builtin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for (i, name) in NAMES.iter().enumerate().filter(|&(i, _)| i as u8 != IS_MAIN_IN_MODULE) {
            assert_eq!(builtin_id(name), Some(i as u8));
            assert_eq!(builtin_name(i as u8), *name);
        }
        assert_eq!(builtin_id("nope"), None);
        assert_eq!(builtin_name(200), "builtin");
    }
}
