//! Practice bodies are Markdown written by people at other organisations:
//! rendered with pulldown-cmark, then cleaned with ammonia's allow-list (no
//! scripts, styles, event handlers or foreign schemes), links marked
//! `noopener noreferrer nofollow`. Images are dropped: the page may load
//! nothing from elsewhere.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{html, Options, Parser};

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .rm_tags(["img"]);
    b
});

/// Safe HTML of Markdown text.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    CLEANER.clean(&raw).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_removes_what_is_unsafe() {
        let html = to_html("# Week one\n\n*Meet* the [team](https://example.org).");
        assert!(html.contains("<h1>Week one</h1>"));
        assert!(html.contains("<em>Meet</em>"));
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
        let evil = to_html(
            "<script>alert(1)</script>\n\n<a href=\"javascript:alert(2)\" onclick=\"x()\">x</a>\
             <img src=\"https://tracker.example.com/p.gif\"><style>*{}</style>",
        );
        for bad in [
            "<script",
            "javascript:",
            "onclick",
            "<img",
            "<style",
            "tracker",
        ] {
            assert!(!evil.contains(bad), "{bad} in {evil}");
        }
    }
}
