//! Text that a spreadsheet opens as text, never as a formula.

/// A cell as a spreadsheet will read it as text: one beginning with `=`,
/// `+`, `-`, `@`, a tab or a carriage return would be a formula in Excel
/// (`=HYPERLINK(...)` from a compromised central system), so it gets a
/// leading apostrophe, as OWASP advises.
pub fn safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_become_text_and_the_rest_is_untouched() {
        assert_eq!(
            super::safe("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for f in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(super::safe(f).starts_with('\''), "{f}");
        }
        assert_eq!(super::safe("Żółkiewska"), "Żółkiewska");
        assert_eq!(super::safe("123/2025"), "123/2025");
    }
}
