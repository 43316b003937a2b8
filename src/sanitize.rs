//! Makes untrusted text (program output, source, values, messages, file names) safe to draw:
//! escape sequences (CSI, OSC, DCS, ...) and control characters are removed, tabs become
//! spaces, and bidirectional-override characters are dropped so text cannot reorder itself on
//! screen.
//!
//! The one sanitizer for every text path to a terminal: the TUI's panes ([`clean`]), the
//! headless reports (`profile`, `dis`, `stats`, `snapshot`: [`clean_lines`]) and diagnostics
//! ([`clean_keep_width`], which keeps carets under the right column).

/// Tab stops, in columns.
const TAB_WIDTH: usize = 4;

/// The text with every escape sequence and control character removed and tabs expanded.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut col = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => {
                let pad = TAB_WIDTH - col % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', pad));
                col += pad;
            }
            c if c.is_control() || is_bidi_control(c) => {}
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// [`clean`] applied to each line of a multi-line text; the line breaks are kept (a `\r\n`
/// becomes `\n`).
pub fn clean_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&clean(line));
    }
    out
}

/// The text with every control character (but the line break) and bidirectional control
/// replaced by U+FFFD, one for one, so columns do not move: for rendered diagnostics, whose
/// carets point at columns of the line above. An escape sequence loses its ESC and becomes
/// inert text.
pub fn clean_keep_width(text: &str) -> String {
    text.chars().map(|c| if c != '\n' && (c.is_control() || is_bidi_control(c)) { '\u{fffd}' } else { c }).collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// Skips what follows an ESC: a CSI or string sequence, a two-character charset selection, or
/// the single character of a short escape.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ') => {
            chars.next();
        }
        _ => {}
    }
}

/// Skips CSI parameters up to and including the final byte (`@` to `~`).
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

/// Skips an OSC/DCS/APC/PM/SOS body up to its terminator (BEL, ESC `\`, or ST).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn strips_escape_and_control_sequences() {
        let cases = [
            ("plain text", "plain text"),
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("\u{1b}[2J\u{1b}[Hcleared", "cleared"),
            ("a\u{1b}]0;evil title\u{7}b", "ab"),
            ("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b", "alinkb"),
            ("\u{1b}P1$r0m\u{1b}\\dcs", "dcs"),
            ("\u{1b}(0box", "box"),
            ("\u{1b}7save\u{1b}8", "save"),
            ("\u{9b}31mc1", "c1"),
            ("bell\u{7} back\u{8}space\r\n", "bell backspace"),
            ("del\u{7f}", "del"),
            ("tab\tx", "tab x"),
            ("\u{202e}evil\u{202c}", "evil"),
            ("héllo ✓", "héllo ✓"),
            ("unterminated \u{1b}[31", "unterminated "),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "input {input:?}");
        }
    }

    #[test]
    fn output_never_contains_escape_or_control_characters() {
        let nasty: String = (0u32..0x200).filter_map(char::from_u32).collect();
        let cleaned = clean(&nasty);
        assert!(!cleaned.chars().any(|c| c.is_control()), "{cleaned:?}");
    }
}
