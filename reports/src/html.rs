//! Building blocks of the self-contained HTML pages: escaping, tables, PNGs embedded as
//! base64 data URIs, the page skeleton with its inline style sheet, and a small checker
//! that the tags of a page are balanced. A page fetches nothing: no scripts, no fonts, no
//! external images, so it opens the same offline, from a CI artifact, or attached to a bug.

use std::fmt::Write as _;

use crate::run_data::Share;

/// Escapes `text` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word =
            chunk.iter().enumerate().fold(0u32, |word, (index, byte)| word | u32::from(*byte) << (16 - 8 * index));
        for index in 0..4 {
            if index <= chunk.len() {
                text.push(ALPHABET[(word >> (18 - 6 * index) & 0x3f) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    text
}

/// An `<img>` with the PNG `bytes` inline.
pub fn png_image(bytes: &[u8], alt: &str, width: u32, height: u32) -> String {
    format!(
        "<img src=\"data:image/png;base64,{}\" alt=\"{}\" width=\"{width}\" height=\"{height}\">",
        base64(bytes),
        escape(alt)
    )
}

/// A table of plain-text cells (escaped here); `numeric` columns are right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>], numeric: &[usize]) -> String {
    let cell = |tag: &str, column: usize, text: &str| {
        let class = if numeric.contains(&column) { " class=\"num\"" } else { "" };
        format!("<{tag}{class}>{}</{tag}>", escape(text))
    };
    let mut html = String::from("<div class=\"table\"><table>\n<thead><tr>");
    for (column, header) in headers.iter().enumerate() {
        html.push_str(&cell("th", column, header));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for (column, text) in row.iter().enumerate() {
            html.push_str(&cell("td", column, text));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
    html
}

/// `share` as "98.9 % (90 of 91)", or `n/a` when there were no operations.
pub fn percent(share: Share) -> String {
    match share.fraction() {
        Some(fraction) => format!("{:.1} % ({} of {})", 100.0 * fraction, share.answered, share.total),
        None => format!("{} (no operations)", crate::words::NOT_APPLICABLE),
    }
}

/// A verdict as a coloured badge.
pub fn verdict_badge(verdict: &str) -> String {
    let class = match verdict {
        "ok" => "ok",
        "stuck" => "stuck",
        _ => "bad",
    };
    format!("<span class=\"verdict {class}\">{}</span>", escape(verdict))
}

/// A whole page: `title` in the head and as the heading, then `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    );
    html
}

/// Checks that every tag of `html` is closed in order (void elements, `<!...>` and
/// self-closing `<.../>` need no end tag). Returns the first problem found.
pub fn check_well_formed(html: &str) -> Result<(), String> {
    const VOID: [&str; 6] = ["meta", "img", "br", "hr", "link", "input"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(length) = rest[start..].find('>') else {
            return Err(format!("unterminated tag at {:?}", &rest[start..rest.len().min(start + 40)]));
        };
        let tag = &rest[start + 1..start + length];
        rest = &rest[start + length + 1..];
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if tag.starts_with('!') || tag.ends_with('/') || VOID.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        if name.is_empty() {
            return Err(format!("a bare '<' before {:?}", &tag[..tag.len().min(40)]));
        }
        if !tag.starts_with('/') {
            open.push(name);
        } else if open.pop().as_deref() != Some(name.as_str()) {
            return Err(format!("</{name}> closes nothing open (open: {open:?})"));
        }
    }
    match open.is_empty() {
        true => Ok(()),
        false => Err(format!("tags never closed: {open:?}")),
    }
}

const STYLE: &str = "\
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d2330;
  font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-top: 8px; border-top: 1px solid #e3e6ea; }
p.lead { margin: 4px 0 16px; color: #4a5263; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
.table { overflow-x: auto; max-width: 100%; }
.table th:first-child, .table td:first-child { min-width: 10em; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e3e6ea; text-align: left; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f0f2f5; padding: 10px 14px; border-radius: 6px; overflow-x: auto; font-size: 13px; }
code { font-family: 'DejaVu Sans Mono', ui-monospace, monospace; }
figure { margin: 16px 0 28px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
figcaption { color: #4a5263; font-size: 14px; margin-top: 6px; max-width: 960px; }
.verdict { display: inline-block; padding: 2px 12px; border-radius: 12px; font-weight: 700; color: #fff; }
.verdict.ok { background: #2e8b57; }
.verdict.stuck { background: #c98a00; }
.verdict.bad { background: #c0392b; }
.note { color: #7a4b00; background: #fff6e0; padding: 6px 12px; border-radius: 6px; }
.legend span { display: inline-block; margin-right: 16px; font-size: 13px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; }
.spacetime { overflow-x: auto; border: 1px solid #e3e6ea; }
.spacetime text, .svgplot text { font-family: 'DejaVu Sans', sans-serif; }
.svgplot { overflow-x: auto; }
td.tight { white-space: nowrap; }
.wrap td.num { white-space: normal; }
.toggle { margin: 4px 8px 8px 0; }
.spacetime .heartbeat { display: none; }
#show-heartbeats:checked ~ .spacetime .heartbeat { display: inline; }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let vectors =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn well_formed_checker_accepts_balanced_and_rejects_broken_pages() {
        assert_eq!(check_well_formed(&page("t", "<p>a<br><img src=\"x\"><svg><line /></svg></p>\n")), Ok(()));
        assert!(check_well_formed("<div><p></div></p>").is_err());
        assert!(check_well_formed("<div>").is_err());
        assert!(check_well_formed("</div>").is_err());
        assert!(check_well_formed("a < b").is_err());
        assert!(check_well_formed("<p").is_err());
    }

    #[test]
    fn tables_escape_their_cells() {
        let html = table(&["a"], &[vec!["<b>".into()]], &[]);
        assert!(html.contains("<td>&lt;b&gt;</td>"), "{html}");
        assert_eq!(check_well_formed(&html), Ok(()));
    }
}
