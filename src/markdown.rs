//! Markdown to safe HTML, for incident update bodies and postmortems shown on the public pages.
//!
//! Responders write Markdown (often pasted from elsewhere, under stress, from a phone), and the
//! page shows it to every reader, so the output must be both pleasant and inert. Two steps:
//!
//! 1. [pulldown-cmark] parses CommonMark with tables and strikethrough. On the way, headings are
//!    demoted one level (the page owns the only `<h1>`), single line breaks are kept as
//!    `<br>` (responders write "line one⏎line two" and expect two lines, as on Statuspage and in
//!    GitHub comments), and bare `http(s)://` addresses become links, since pulldown-cmark only
//!    links `<https://...>` and status updates are full of pasted addresses.
//! 2. [ammonia] sanitises the result against an allow-list: no scripts, styles, frames, event
//!    handler attributes or `javascript:` URLs survive; links get
//!    `rel="noopener noreferrer nofollow"`; images load only over http(s), lazily and without a
//!    referrer.
//!
//! Raw HTML in the Markdown is passed to step 2 rather than escaped, so a responder's harmless
//! `<b>` or `<br>` still works while anything dangerous is removed. This module does no I/O and
//! must stay the only producer of HTML that templates insert unescaped.

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

/// Renders Markdown as sanitised HTML, safe to insert into a page unescaped.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Rewriter::new(Parser::new_ext(markdown, options));
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut raw, events);
    SANITIZER.clean(&raw).to_string()
}

/// The allow-list, built once: ammonia's defaults minus what does not belong inside a status
/// update (page landmarks, `<h1>`, image maps), with tighter URL rules.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .rm_tags([
            "h1", "header", "footer", "nav", "article", "aside", "hgroup", "area", "map",
        ])
        .url_schemes(HashSet::from(["http", "https", "mailto", "tel"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("img", "loading", "lazy")
        .set_tag_attribute_value("img", "referrerpolicy", "no-referrer")
        .attribute_filter(|element, attribute, value| {
            // Relative links are fine (another incident, an anchor); a relative image would
            // load from this page's origin for no good reason, so images need an absolute
            // http(s) address.
            if element == "img" && attribute == "src" && !is_web_url(value) {
                return None;
            }
            Some(Cow::Borrowed(value))
        });
    builder
});

/// True for an absolute `http://` or `https://` address.
fn is_web_url(value: &str) -> bool {
    let lower = value
        .trim_start()
        .get(..8)
        .unwrap_or("")
        .to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Adapts the parser's events (see the module documentation): demotes headings, keeps line
/// breaks and links bare addresses. Yields from a small queue because one text event can turn
/// into several (text, link, text).
struct Rewriter<'a, I: Iterator<Item = Event<'a>>> {
    inner: I,
    queue: std::collections::VecDeque<Event<'a>>,
    /// Inside a link, an image or a code block, text is left alone: a link must not nest, and
    /// code is shown as written.
    verbatim_depth: usize,
}

impl<'a, I: Iterator<Item = Event<'a>>> Rewriter<'a, I> {
    fn new(inner: I) -> Self {
        Rewriter {
            inner,
            queue: std::collections::VecDeque::new(),
            verbatim_depth: 0,
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Rewriter<'a, I> {
    /// Rewrites one event other than text.
    fn rewrite(&mut self, event: Event<'a>) -> Event<'a> {
        match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => Event::Start(Tag::Heading {
                level: demote(level),
                id,
                classes,
                attrs,
            }),
            Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demote(level))),
            Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_))) => {
                self.verbatim_depth += 1;
                Event::Start(tag)
            }
            Event::End(end @ (TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock)) => {
                self.verbatim_depth = self.verbatim_depth.saturating_sub(1);
                Event::End(end)
            }
            Event::SoftBreak => Event::HardBreak,
            other => other,
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Rewriter<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(event) = self.queue.pop_front() {
            return Some(event);
        }
        match self.inner.next()? {
            Event::Text(text) if self.verbatim_depth == 0 => {
                // The parser splits text at characters that might have been emphasis (`_` in
                // `a_(b)`); join the run first, so an address is found whole.
                let mut joined = text;
                let mut after = None;
                for next in self.inner.by_ref() {
                    match next {
                        Event::Text(more) => joined = CowStr::from(format!("{joined}{more}")),
                        other => {
                            after = Some(other);
                            break;
                        }
                    }
                }
                self.queue.extend(linkify(joined));
                if let Some(after) = after {
                    let after = self.rewrite(after);
                    self.queue.push_back(after);
                }
                self.queue.pop_front()
            }
            other => Some(self.rewrite(other)),
        }
    }
}

fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    }
}

/// Splits a text event around bare `http(s)://` addresses, wrapping each in a link.
fn linkify(text: CowStr<'_>) -> Vec<Event<'_>> {
    let mut events = Vec::new();
    let mut rest: &str = &text;
    let mut found_any = false;
    while let Some((start, end)) = find_url(rest) {
        found_any = true;
        if start > 0 {
            events.push(Event::Text(CowStr::from(rest[..start].to_string())));
        }
        let url = rest[start..end].to_string();
        events.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: CowStr::from(url.clone()),
            title: CowStr::from(""),
            id: CowStr::from(""),
        }));
        events.push(Event::Text(CowStr::from(url)));
        events.push(Event::End(TagEnd::Link));
        rest = &rest[end..];
    }
    if !found_any {
        return vec![Event::Text(text)];
    }
    if !rest.is_empty() {
        events.push(Event::Text(CowStr::from(rest.to_string())));
    }
    events
}

/// The byte range of the first bare web address in `text`, if any. The address starts at a
/// word boundary and runs to whitespace or a character that cannot end a pasted address;
/// trailing sentence punctuation and an unbalanced closing parenthesis are left out, so
/// "see https://example.com/x)." links only `https://example.com/x`.
fn find_url(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    loop {
        let offset = text[from..].find("http")?;
        let start = from + offset;
        let tail = &text[start..];
        let scheme_len = if tail.starts_with("https://") {
            8
        } else if tail.starts_with("http://") {
            7
        } else {
            from = start + 4;
            continue;
        };
        let at_boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if !at_boundary {
            from = start + scheme_len;
            continue;
        }
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .unwrap_or(tail.len());
        loop {
            let candidate = &tail[..end];
            let Some(last) = candidate.chars().next_back() else {
                break;
            };
            let unbalanced_paren =
                last == ')' && candidate.matches('(').count() < candidate.matches(')').count();
            if matches!(last, '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_')
                || unbalanced_paren
            {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        if end <= scheme_len {
            from = start + scheme_len;
            continue;
        }
        return Some((start, start + end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that nothing in `html` can run script or load a frame: no dangerous element, and
    /// no handler, style or script URL inside any tag. (Text such as "javascript:alert(1)"
    /// shown as words is harmless, so only markup is checked.)
    fn assert_inert(html: &str) {
        let lower = html.to_ascii_lowercase();
        for element in [
            "<script", "<iframe", "<style", "<object", "<embed", "<svg", "<form",
        ] {
            assert!(!lower.contains(element), "`{element}` survived in: {html}");
        }
        for tag in lower.split('<').skip(1).filter_map(|t| t.split('>').next()) {
            for needle in ["javascript:", "data:", " on", "style="] {
                assert!(
                    !tag.contains(needle),
                    "`{needle}` survived in <{tag}>: {html}"
                );
            }
        }
    }

    #[test]
    fn scripts_are_removed_with_their_content() {
        let html = to_html("Hello <script>alert(1)</script> world");
        assert_inert(&html);
        assert!(!html.contains("alert"), "{html}");
        assert!(html.contains("Hello"), "{html}");
    }

    #[test]
    fn event_handler_attributes_are_removed() {
        let html = to_html("<img src=x onerror=alert(1)>");
        assert_inert(&html);
        let html = to_html(r##"<a href="#" onclick="alert(1)">click</a>"##);
        assert_inert(&html);
        assert!(html.contains(">click</a>"), "{html}");
        let html = to_html(r#"<p onmouseover="alert(1)" style="color:red">hi</p>"#);
        assert_inert(&html);
        assert!(!html.contains("onmouseover"), "{html}");
    }

    #[test]
    fn javascript_urls_are_dropped_in_every_spelling() {
        for source in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1) )",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<javascript:alert(1)>",
            "![x](javascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        ] {
            let html = to_html(source);
            assert_inert(&html);
            assert!(!html.contains("href=\"j"), "{source}: {html}");
        }
    }

    #[test]
    fn frames_styles_and_forms_are_inert() {
        let html = to_html(
            "<iframe src=\"https://evil.example\"></iframe>\n\n<style>body{display:none}</style>\n\n<form action=/x><input name=a></form><svg onload=alert(1)>",
        );
        assert_inert(&html);
        assert!(!html.contains("<form"), "{html}");
        assert!(!html.contains("<input"), "{html}");
        assert!(!html.contains("display:none"), "{html}");
    }

    #[test]
    fn links_get_a_safe_rel_and_images_need_http() {
        let html = to_html("[docs](https://example.com/docs)");
        assert!(
            html.contains(
                r#"<a href="https://example.com/docs" rel="noopener noreferrer nofollow">docs</a>"#
            ),
            "{html}"
        );
        let html = to_html("![graph](https://example.com/g.png)");
        assert!(
            html.contains(r#"src="https://example.com/g.png""#),
            "{html}"
        );
        assert!(html.contains(r#"loading="lazy""#), "{html}");
        let html = to_html("![graph](/local.png) ![x](ftp://example.com/x.png)");
        assert!(!html.contains("src="), "{html}");
    }

    #[test]
    fn bare_addresses_become_links_without_trailing_punctuation() {
        let html = to_html("See https://example.com/a_(b) and (http://example.com/x). Done.");
        assert!(
            html.contains(r#"<a href="https://example.com/a_(b)" rel="noopener noreferrer nofollow">https://example.com/a_(b)</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"(<a href="http://example.com/x" rel="noopener noreferrer nofollow">http://example.com/x</a>)."#),
            "{html}"
        );
        // Already a link, or code: left alone.
        let html = to_html("[https://a.example](https://b.example) `https://c.example`");
        assert_eq!(html.matches("<a ").count(), 1, "{html}");
        assert!(html.contains("<code>https://c.example</code>"), "{html}");
        // Not at a word boundary.
        assert!(!to_html("xhttps://example.com").contains("<a "));
    }

    #[test]
    fn headings_are_demoted_below_the_page_title_and_line_breaks_kept() {
        let html = to_html("# Summary\n\n## Details\n\nline one\nline two");
        assert!(html.contains("<h2>Summary</h2>"), "{html}");
        assert!(html.contains("<h3>Details</h3>"), "{html}");
        assert!(html.contains("line one<br>\nline two"), "{html}");
        assert!(!to_html("<h1>raw</h1>").contains("<h1"));
    }

    #[test]
    fn tables_and_strikethrough_render() {
        let html = to_html("| a | b |\n|---|:-:|\n| 1 | 2 |\n\n~~gone~~");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<td>2</td>"), "{html}");
        assert!(html.contains("<del>gone</del>"), "{html}");
    }

    fn seed(name: &str) -> String {
        let path = format!("{}/../shared/seeds/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The seed pages were scraped with their line breaks flattened; the vendors' originals had
    /// headings and list items on lines of their own. Put those breaks back so the test renders
    /// what the responder wrote.
    fn restore_line_breaks(flat: &str) -> String {
        let mut out = String::new();
        // A leading space lets a heading at the very start split like the others.
        for (i, piece) in format!(" {flat}").split(" # ").enumerate() {
            let piece = if i == 0 {
                piece.to_string()
            } else {
                // "**Summary** At 9:41 ..." → heading line, then the paragraph.
                match piece.strip_prefix("**").and_then(|p| p.split_once("** ")) {
                    Some((title, body)) => format!("\n\n# **{title}**\n\n{body}"),
                    None => format!("\n\n# {piece}"),
                }
            };
            out.push_str(&piece);
        }
        out.replace(" ## ", "\n\n## ")
            .replace("** * ", "**\n\n* ")
            .replace(" * ", "\n* ")
    }

    #[test]
    fn a_long_vendor_postmortem_keeps_its_structure() {
        let page = seed("002_fa273c0b28b58ed4.txt");
        let flat = page
            .lines()
            .find_map(|l| l.strip_prefix("Description: # **Summary** At 9:41"))
            .map(|rest| format!("# **Summary** At 9:41{rest}"))
            .expect("the Kustomer postmortem is in the seed");
        let markdown = restore_line_breaks(&flat);
        let html = to_html(&markdown);
        assert_inert(&html);
        assert!(html.contains("<h2><strong>Summary</strong></h2>"), "{html}");
        assert!(
            html.contains(
                "<h2><strong>Lessons &amp; Improvements (Completed and Planned)</strong></h2>"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<h3><strong>Addressing the Root Cause + Safeguards for Future</strong></h3>"
            ),
            "{html}"
        );
        assert!(html.matches("<li>").count() >= 7, "{html}");
        assert!(
            html.contains("<em><strong>[DONE]</strong></em>"),
            "escaped brackets keep their text: {html}"
        );
        assert!(!html.contains('\\'), "no escape survives: {html}");
    }

    #[test]
    fn escaped_parentheses_and_bold_labels_render_cleanly() {
        let page = seed("000_855d55379f0a6173.txt");
        let markdown = page
            .lines()
            .filter_map(|l| l.strip_prefix("Description: "))
            .find(|l| l.contains("Kong Gateway service stopped"))
            .expect("the Mezmo gateway postmortem is in the seed");
        let html = to_html(markdown);
        assert_inert(&html);
        assert!(html.contains("<strong>Dates:</strong>"), "{html}");
        assert!(html.contains("<strong>Why it happened:</strong>"), "{html}");
        assert!(
            html.contains("(8:32 pm UTC to 8:59 pm UTC)"),
            "parentheses unescaped: {html}"
        );
        assert!(html.contains("source(s) of the traffic"), "{html}");
        assert!(!html.contains("\\("), "{html}");
        assert!(!html.contains("\\)"), "{html}");
    }

    #[test]
    fn a_statuspage_update_with_a_list_and_an_address_renders() {
        // Batch's "Resolved" update: a sentence, then a Markdown list on the next lines.
        let page = seed("003_e9edb41e1ab260eb.txt");
        let start = page
            .find("All our services are operating normally again.")
            .unwrap();
        let end = page[start..]
            .find("Posted Feb 16, 2021 - 12:09 UTC")
            .unwrap();
        let html = to_html(&page[start..start + end]);
        assert_eq!(html.matches("<li>").count(), 2, "{html}");
        assert!(
            html.contains("<li>The first one starting at 9:54 UTC, ending at 9:57 UTC.</li>"),
            "{html}"
        );
        assert!(html.contains("<p>All our services"), "{html}");

        // Meya's update points readers to a page by its bare address.
        let page = seed("001_d91ee9a1136b0fb4.txt");
        let start = page.find("Only a small number of apps").unwrap();
        let end = page[start..]
            .find("Posted Sep 08, 2021 - 13:48 EDT")
            .unwrap();
        let html = to_html(&page[start..start + end]);
        assert!(
            html.contains(r#"<a href="https://docs.meya.ai/docs/how-to-monitor-a-production-apps-uptime-using-the-status-integration" rel="noopener noreferrer nofollow">"#),
            "{html}"
        );
        assert_eq!(html.matches("<p>").count(), 2, "{html}");
    }
}
