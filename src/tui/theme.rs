//! Colours: one `Theme` struct of named colours that every pane draws with. Themes are JSON
//! files (`themes/*.json`, built in, or any file given with `--theme FILE`); a file names only
//! the colours it changes, on top of a base theme (`"base": "light"`, dark by default).

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    /// The file is not valid theme JSON (syntax error, unknown field, wrong type).
    #[error("theme {origin}: {message}")]
    Syntax {
        /// File or theme name.
        origin: String,
        /// What serde reported (names the field for unknown fields and wrong types).
        message: String,
    },
    /// A colour field holds something that is not a colour.
    #[error(
        "theme {origin}: field `{field}`: invalid colour {value:?} (use a name such as \"red\" or \"dark gray\", \"#rrggbb\", or an index 0-255)"
    )]
    Color {
        /// File or theme name.
        origin: String,
        /// The field.
        field: String,
        /// Its value.
        value: String,
    },
    /// `base` names no built-in theme.
    #[error("theme {origin}: field `base`: unknown theme {value:?} (built in: dark, light, high-contrast)")]
    Base {
        /// File or theme name.
        origin: String,
        /// The value of `base`.
        value: String,
    },
    /// The file could not be read.
    #[error("theme {origin}: cannot read: {message}")]
    Io {
        /// The path.
        origin: String,
        /// The reason.
        message: String,
    },
}

/// The built-in themes: name and JSON text.
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.json")),
    ("light", include_str!("../../themes/light.json")),
    ("high-contrast", include_str!("../../themes/high-contrast.json")),
];

macro_rules! theme_fields {
    ($($field:ident = $default:expr, $doc:literal;)*) => {
        /// Every colour the TUI uses.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// Theme name (shown when switching themes).
            pub name: String,
            $(#[doc = $doc] pub $field: Color,)*
        }

        /// A theme file: every field optional.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            name: Option<String>,
            base: Option<String>,
            $($field: Option<String>,)*
        }

        impl Theme {
            /// The fallback colours (the dark theme) that files override.
            fn fallback() -> Theme {
                Theme { name: "dark".to_string(), $($field: $default,)* }
            }

            fn apply(&mut self, file: &ThemeFile, origin: &str) -> Result<(), ThemeError> {
                $(if let Some(value) = &file.$field {
                    self.$field = parse_color(value).ok_or_else(|| ThemeError::Color {
                        origin: origin.to_string(),
                        field: stringify!($field).to_string(),
                        value: value.clone(),
                    })?;
                })*
                Ok(())
            }
        }

        /// Names of the colour fields a theme file may set.
        pub const FIELDS: &[&str] = &[$(stringify!($field)),*];
    };
}

theme_fields! {
    fg = Color::Gray, "Ordinary text.";
    bg = Color::Reset, "Background.";
    dim = Color::DarkGray, "Secondary text: gutters, comments, hints.";
    border = Color::DarkGray, "Borders of unfocused panes.";
    border_focused = Color::Cyan, "Border of the focused pane.";
    title = Color::Gray, "Titles of unfocused panes.";
    title_focused = Color::LightCyan, "Title of the focused pane.";
    status_fg = Color::White, "Status and help bar text.";
    status_bg = Color::Rgb(40, 44, 52), "Status and help bar background.";
    running = Color::LightGreen, "The RUNNING label.";
    paused = Color::LightYellow, "The PAUSED label.";
    finished = Color::LightBlue, "The FINISHED label.";
    failed = Color::LightRed, "The FAILED label.";
    current_fg = Color::Black, "Text of the line or instruction about to run.";
    current_bg = Color::Yellow, "Background of the line or instruction about to run.";
    cursor_bg = Color::Rgb(60, 64, 80), "Background of the cursor row in the focused pane.";
    mapping_bg = Color::Rgb(40, 60, 70), "Rows related to the cursor (side-by-side mapping, search).";
    breakpoint = Color::LightRed, "Breakpoint markers.";
    error_fg = Color::White, "Error text.";
    error_bg = Color::Red, "Background of the failing line.";
    hot = Color::LightMagenta, "Hot-loop markers and states.";
    compiled = Color::LightGreen, "JIT-compiled markers and states.";
    line_number = Color::DarkGray, "Line numbers and pcs.";
    opcode = Color::LightCyan, "Opcode names.";
    value = Color::LightGreen, "Values in the VM pane.";
    heading = Color::LightYellow, "Section headings inside panes.";
    gauge = Color::Green, "Gauges.";
    sparkline = Color::LightBlue, "The instructions-per-second sparkline.";
    key = Color::LightCyan, "Key names in the help.";
    note = Color::DarkGray, "Placeholders for features not in this build.";
    heat_low = Color::LightBlue, "Execution counts below 5% of the hottest.";
    heat_mid = Color::Yellow, "Execution counts from 5% to half of the hottest.";
    heat_high = Color::LightRed, "Execution counts from half of the hottest up.";
    diff_added = Color::LightGreen, "Instructions a pass created or changed.";
    diff_removed = Color::LightRed, "Instructions a pass removed.";
    syntax_keyword = Color::LightMagenta, "Keywords in the source pane.";
    syntax_literal = Color::LightCyan, "Numbers, true, false and null in the source pane.";
    syntax_string = Color::LightGreen, "String literals in the source pane.";
    syntax_comment = Color::DarkGray, "Comments in the source pane.";
}

/// Parses a colour: a name, `#rrggbb`, or an index 0-255.
fn parse_color(value: &str) -> Option<Color> {
    match value.trim() {
        "default" | "" => Some(Color::Reset),
        v => Color::from_str(v).ok(),
    }
}

/// A theme file's entries in document order, duplicates kept (for error messages).
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// A theme file serde rejected. serde names the field for unknown and duplicate fields but
/// not for a value of the wrong type, so that case is found here and named.
#[cold]
fn syntax_error(text: &str, origin: &str, err: serde_json::Error) -> ThemeError {
    let known = |k: &str| k == "name" || k == "base" || FIELDS.contains(&k);
    let wrong_type = serde_json::from_str::<Entries>(text).ok().and_then(|Entries(entries)| {
        entries.into_iter().find(|(k, v)| known(k) && !(v.is_string() || v.is_null())).map(|(field, value)| {
            let kind = match value {
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Array(_) => "a list",
                _ => "an object",
            };
            format!("field `{field}`: expected a string, got {kind}")
        })
    });
    let message = err.to_string();
    let names_a_field = message.starts_with("unknown field") || message.starts_with("duplicate field");
    let message = match wrong_type {
        Some(wrong) if err.is_data() && !names_a_field => wrong,
        _ => message,
    };
    ThemeError::Syntax { origin: origin.to_string(), message }
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::builtin("dark").unwrap_or_else(|_| Theme::fallback())
    }
}

impl Theme {
    /// Parses theme JSON; `origin` names the file in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = serde_json::from_str(text).map_err(|e| syntax_error(text, origin, e))?;
        let mut theme = match file.base.as_deref() {
            None | Some("dark") => Theme::fallback(),
            Some(base) => match BUILTIN.iter().find(|(name, _)| *name == base) {
                Some((name, text)) => Theme::from_json(text, name)?,
                None => return Err(ThemeError::Base { origin: origin.to_string(), value: base.to_string() }),
            },
        };
        theme.apply(&file, origin)?;
        theme.name = file.name.clone().unwrap_or_else(|| origin.to_string());
        Ok(theme)
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Theme, ThemeError> {
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Theme::from_json(text, n),
            None => Err(ThemeError::Base { origin: "--theme".to_string(), value: name.to_string() }),
        }
    }

    /// `--theme NAME|FILE`: a built-in name, or a path to a JSON file.
    pub fn load(spec: &str) -> Result<Theme, ThemeError> {
        if BUILTIN.iter().any(|(n, _)| *n == spec) {
            return Theme::builtin(spec);
        }
        let path = std::path::Path::new(spec);
        if !path.exists() && !spec.ends_with(".json") && !spec.contains('/') {
            return Err(ThemeError::Base { origin: "--theme".to_string(), value: spec.to_string() });
        }
        let bytes = crate::input::read_limited(path, crate::input::MAX_THEME_BYTES)
            .map_err(|e| ThemeError::Io { origin: spec.to_string(), message: e.to_string() })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ThemeError::Io { origin: spec.to_string(), message: "not valid UTF-8".to_string() })?;
        Theme::from_json(&text, spec)
    }

    /// Ordinary text.
    pub fn text(&self) -> Style {
        Style::new().fg(self.fg).bg(self.bg)
    }

    /// Secondary text.
    pub fn dimmed(&self) -> Style {
        Style::new().fg(self.dim).bg(self.bg)
    }

    /// A pane border.
    pub fn border_style(&self, focused: bool) -> Style {
        Style::new().fg(if focused { self.border_focused } else { self.border }).bg(self.bg)
    }

    /// A pane title.
    pub fn title_style(&self, focused: bool) -> Style {
        let style = Style::new().fg(if focused { self.title_focused } else { self.title }).bg(self.bg);
        if focused { style.add_modifier(Modifier::BOLD) } else { style }
    }

    /// The status and help bars.
    pub fn bar(&self) -> Style {
        Style::new().fg(self.status_fg).bg(self.status_bg)
    }

    /// The line or instruction about to run.
    pub fn current(&self) -> Style {
        Style::new().fg(self.current_fg).bg(self.current_bg)
    }

    /// The cursor row of the focused pane.
    pub fn cursor(&self) -> Style {
        Style::new().fg(self.fg).bg(self.cursor_bg)
    }

    /// Rows related to the cursor.
    pub fn mapping(&self) -> Style {
        Style::new().fg(self.fg).bg(self.mapping_bg)
    }

    /// Error text on the failing line.
    pub fn error(&self) -> Style {
        Style::new().fg(self.error_fg).bg(self.error_bg).add_modifier(Modifier::BOLD)
    }

    /// Error text in ordinary rows.
    pub fn error_text(&self) -> Style {
        Style::new().fg(self.failed).bg(self.bg)
    }

    /// A foreground colour on the theme background.
    pub fn fg(&self, color: Color) -> Style {
        Style::new().fg(color).bg(self.bg)
    }

    /// A placeholder for a feature not in this build.
    pub fn placeholder(&self) -> Style {
        Style::new().fg(self.note).bg(self.bg).add_modifier(Modifier::ITALIC)
    }

    /// The heat colour of a count against the largest count (dim for zero).
    pub fn heat(&self, n: u64, max: u64) -> Color {
        if n == 0 || max == 0 {
            return self.dim;
        }
        let ratio = n as f64 / max as f64;
        if ratio >= 0.5 {
            self.heat_high
        } else if ratio >= 0.05 {
            self.heat_mid
        } else {
            self.heat_low
        }
    }

    /// Section headings.
    pub fn heading(&self) -> Style {
        Style::new().fg(self.heading).bg(self.bg).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        for (name, _) in BUILTIN {
            let theme = Theme::builtin(name).expect("built-in theme parses");
            assert_eq!(theme.name, name);
        }
        assert_ne!(Theme::builtin("light").map(|t| t.bg), Theme::builtin("dark").map(|t| t.bg));
    }

    #[test]
    fn a_file_may_override_some_fields() {
        let theme = Theme::from_json(r##"{"base": "light", "breakpoint": "#ff0000"}"##, "mine.json").expect("parses");
        let light = Theme::builtin("light").expect("light");
        assert_eq!(theme.breakpoint, Color::Rgb(255, 0, 0));
        assert_eq!(theme.bg, light.bg);
        assert_eq!(theme.name, "mine.json");
    }

    #[test]
    fn errors_name_the_field() {
        let err = Theme::from_json(r#"{"cursor_bg": "blurple"}"#, "bad.json").expect_err("invalid colour");
        assert!(err.to_string().contains("field `cursor_bg`"), "{err}");
        let err = Theme::from_json(r#"{"cursr_bg": "red"}"#, "bad.json").expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `cursr_bg`"), "{err}");
        let err = Theme::from_json(r#"{"gauge": 3}"#, "bad.json").expect_err("wrong type");
        assert!(err.to_string().contains("bad.json"), "{err}");
        assert!(err.to_string().contains("field `gauge`: expected a string, got a number"), "{err}");
        let err = Theme::from_json(r#"{"fg": "red", "name": []}"#, "bad.json").expect_err("wrong type");
        assert!(err.to_string().contains("field `name`: expected a string, got a list"), "{err}");
        let err = Theme::from_json(r#"{"base": "solarized"}"#, "bad.json").expect_err("unknown base");
        assert!(err.to_string().contains("field `base`"), "{err}");
    }

    #[test]
    fn every_field_is_documented_in_the_dark_theme_file() {
        let text = BUILTIN[0].1;
        for field in FIELDS {
            assert!(text.contains(&format!("\"{field}\"")), "themes/dark.json lacks {field}");
        }
    }
}
