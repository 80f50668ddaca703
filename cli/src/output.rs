//! The one way answers reach the terminal: every answer type implements
//! [`Human`] (tables and sentences, in `render/`) and `Serialize` (the
//! stable `--json` shape, documented in README), and [`emit`] picks one.

use std::borrow::Cow;
use std::io::{self, Write};

use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use serde::Serialize;

/// How people see an answer.
pub trait Human {
    /// Write the answer for people to standard output (notes that are not
    /// the answer itself go to standard error).
    fn human(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// Print `v` as `--json` asks, or for people.
pub fn emit<T: Serialize + Human + ?Sized>(json: bool, v: &T) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        print_json(&mut out, v)?;
    } else {
        write_human(&mut out, v)?;
    }
    out.flush()?;
    Ok(())
}

/// Write `v` for people, through [`terminal_safe`]: much of what is shown
/// (titles, descriptions, reasons, organisation names) was written by
/// peers.
pub fn write_human<T: Human + ?Sized>(out: &mut dyn Write, v: &T) -> io::Result<()> {
    let mut buf = Vec::new();
    v.human(&mut buf)?;
    out.write_all(terminal_safe(&String::from_utf8_lossy(&buf)).as_bytes())
}

/// Text a terminal shows as text: control characters that could move the
/// cursor, clear the screen, retitle the window or hide what follows (an
/// escape sequence's ESC, other C0 controls, DEL, C1 controls) are dropped;
/// newline and tab are kept, and CR only before a newline (CRLF text such
/// as an iCalendar stays whole; a lone CR would overwrite the line).
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let unsafe_at = |i: usize, c: char| {
        (c.is_control() && c != '\n' && c != '\t' && c != '\r')
            || (c == '\r' && !s[i + 1..].starts_with('\n'))
    };
    if !s.char_indices().any(|(i, c)| unsafe_at(i, c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.char_indices()
            .filter(|&(i, c)| !unsafe_at(i, c))
            .map(|(_, c)| c)
            .collect(),
    )
}

/// Pretty JSON and a newline.
pub fn print_json<T: Serialize + ?Sized>(out: &mut dyn Write, v: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)
}

/// A table without borders: a header line, columns two spaces apart and as
/// wide as their widest cell (by display width, so wide characters line
/// up), cells on one line and cut with `…` at `max` columns.
pub fn table(
    out: &mut dyn Write,
    headers: &[&str],
    rows: Vec<Vec<String>>,
    max: u16,
) -> io::Result<()> {
    let mut t = Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_truncation_indicator("…")
        .set_header(headers.to_vec());
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|c| c.replace(['\n', '\t', '\r'], " "))
            .collect();
        let mut r = comfy_table::Row::from(cells);
        r.max_height(1);
        t.add_row(r);
    }
    let last = headers.len().saturating_sub(1);
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i == last { 0 } else { 2 }));
        col.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(max)));
    }
    for line in t.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// An optional value as a cell.
pub fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(headers: &[&str], rows: Vec<Vec<String>>, max: u16) -> String {
        let mut out = Vec::new();
        table(&mut out, headers, rows, max).unwrap();
        String::from_utf8(out).unwrap()
    }

    struct Shown(String);

    impl Human for Shown {
        fn human(&self, out: &mut dyn Write) -> io::Result<()> {
            table(
                out,
                &["ID", "TITLE"],
                vec![vec!["p-1".into(), self.0.clone()]],
                80,
            )?;
            writeln!(out, "reason: {}", self.0)
        }
    }

    /// Text a peer wrote (a title, a revocation reason) reaches the
    /// terminal without its control sequences (issue 13, point 11).
    #[test]
    fn peer_text_reaches_the_terminal_without_control_sequences() {
        let evil = "Nice\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[1A\rfake line\u{9b}31m\u{7f}";
        let mut out = Vec::new();
        write_human(&mut out, &Shown(evil.into())).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.contains("reason: Nice]0;pwned[2J[1Afake line31m"),
            "{text:?}"
        );
        // CRLF text (an iCalendar on standard output) keeps its line ends.
        assert_eq!(terminal_safe("A:b\r\nC:d\r\n"), "A:b\r\nC:d\r\n");
    }

    #[test]
    fn columns_line_up_by_display_width() {
        let text = render(
            &["ID", "TITLE"],
            vec![
                vec!["p-1".into(), "Plain".into()],
                vec!["漢字漢字".into(), "Wide".into()],
            ],
            40,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID        TITLE");
        assert_eq!(lines[1], "p-1       Plain");
        // Four wide characters take eight columns.
        assert_eq!(lines[2], "漢字漢字  Wide");
    }

    #[test]
    fn long_cells_are_cut_to_one_line_with_an_ellipsis() {
        let text = render(
            &["ID", "TITLE"],
            vec![vec!["p-1".into(), "word ".repeat(30) + "\nsecond line"]],
            20,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[1].ends_with('…'), "{text}");
        assert!(lines[1].chars().count() <= 5 + 20, "{text}");
    }
}
