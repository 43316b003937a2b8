//! Bounded previews of values and STATE data for the debugger's views: containers show their
//! first elements, long text is cut, nesting and cycles (through borrowed cells) are bounded.

use super::chain::Data;
use super::value::{self, Value};

/// Longest preview of one value, in characters.
pub const MAX_VALUE_PREVIEW: usize = 120;

/// A bounded repr of a value: containers show their first elements, long text is cut.
pub fn preview(v: &Value) -> String {
    let mut out = String::new();
    preview_into(v, &mut out, 0);
    truncate_chars(out, MAX_VALUE_PREVIEW)
}

fn preview_into(v: &Value, out: &mut String, depth: usize) {
    if out.len() > MAX_VALUE_PREVIEW * 4 {
        out.push('…');
        return;
    }
    match v {
        Value::Str(s) => {
            let cut: String = s.chars().take(MAX_VALUE_PREVIEW).collect();
            crate::text::repr_str(&cut, out);
        }
        Value::List(l) => match l.try_borrow() {
            Ok(items) => bounded_seq(out, depth, ('[', ']'), items.len(), items.iter(), |item, out| {
                preview_into(item, out, depth + 1)
            }),
            Err(_) => out.push_str("[…]"),
        },
        Value::Map(m) => match m.try_borrow() {
            Ok(entries) => bounded_seq(out, depth, ('{', '}'), entries.len(), entries.iter(), |(k, item), out| {
                crate::text::repr_str(k, out);
                out.push_str(": ");
                preview_into(item, out, depth + 1);
            }),
            Err(_) => out.push_str("{…}"),
        },
        Value::Cell(c) => match c.try_borrow() {
            Ok(inner) => preview_into(&inner, out, depth),
            Err(_) => out.push('…'),
        },
        Value::Undef => out.push_str("<undefined>"),
        scalar => match value::repr(scalar) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push('?'),
        },
    }
}

/// Writes a container's first elements between `delims`: past depth 3 a non-empty container is
/// `[…]`, and after 16 elements or a long enough text the rest is counted, not shown.
fn bounded_seq<T>(
    out: &mut String,
    depth: usize,
    (open, close): (char, char),
    len: usize,
    items: impl Iterator<Item = T>,
    mut each: impl FnMut(T, &mut String),
) {
    if depth >= 3 && len > 0 {
        out.push(open);
        out.push('…');
        out.push(close);
        return;
    }
    out.push(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if i >= 16 || out.len() > MAX_VALUE_PREVIEW * 2 {
            out.push_str(&format!("… {} more", len - i));
            break;
        }
        each(item, out);
    }
    out.push(close);
}

/// A bounded repr of a STATE value.
pub fn data_preview(d: &Data) -> String {
    let mut out = String::new();
    data_into(d, &mut out, 0);
    truncate_chars(out, MAX_VALUE_PREVIEW)
}

fn data_into(d: &Data, out: &mut String, depth: usize) {
    match d {
        Data::Null => out.push_str("null"),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::Int(i) => out.push_str(&i.to_string()),
        Data::Float(f) => crate::text::format_float(*f, out),
        Data::Str(s) => {
            let cut: String = s.chars().take(MAX_VALUE_PREVIEW).collect();
            crate::text::repr_str(&cut, out);
        }
        Data::List(items) => {
            bounded_seq(out, depth, ('[', ']'), items.len(), items.iter(), |item, out| data_into(item, out, depth + 1))
        }
        Data::Map(entries) => bounded_seq(out, depth, ('{', '}'), entries.len(), entries.iter(), |(k, item), out| {
            crate::text::repr_str(k, out);
            out.push_str(": ");
            data_into(item, out, depth + 1);
        }),
    }
}

fn truncate_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => {
            let mut cut = s[..at].to_string();
            cut.push('…');
            cut
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_bounds_long_lists() {
        let v = Value::list((0..1000).map(Value::Int).collect());
        let p = preview(&v);
        assert!(p.starts_with("[0, 1, 2"), "{p}");
        assert!(p.contains("more"), "{p}");
        assert!(p.chars().count() <= MAX_VALUE_PREVIEW + 1, "{p}");
    }
}
