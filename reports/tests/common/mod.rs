//! Helpers shared by the report tests: the fixture run directories, a scratch directory per
//! test, and the checks every report page and plot must pass.
//!
//! The fixtures in `tests/data/` are real run directories written by `faultline run`:
//! `paxos-nemesis-seed-1` (scenarios/paxos/nemesis.toml, verdict ok, 47 fault periods) and
//! `paxos-acceptor-forgets-seed-1` (scenarios/paxos/acceptor-forgets.toml, verdict
//! violation: agreement at 371.034 ms).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const PASSING: &str = "paxos-nemesis-seed-1";
pub const FAILING: &str = "paxos-acceptor-forgets-seed-1";

/// A fixture run directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// An empty scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
    dir
}

/// The width and height in a PNG's IHDR chunk, after checking the PNG signature.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "a PNG has a signature and an IHDR chunk");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "the first chunk is IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    (word(16), word(20))
}

/// Decodes a PNG into (width, height, RGB or RGBA rows).
pub fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>, usize) {
    let mut reader = png::Decoder::new(bytes).read_info().expect("the PNG decodes");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("the PNG has a frame");
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels, info.color_type.samples())
}

/// The page fetches nothing: no URL with a scheme or a protocol-relative source.
pub fn assert_self_contained(html: &str) {
    for needle in ["http://", "https://", "src=\"//", "href=\"//", "<script", "<link", "@import", "url(http"] {
        assert!(!html.contains(needle), "the page contains {needle:?}");
    }
}

/// Every tag is closed in order.
pub fn assert_well_formed(html: &str) {
    if let Err(problem) = reports::html::check_well_formed(html) {
        panic!("the page is not well formed: {problem}");
    }
}

/// The page embeds `png` (the file's bytes, base64) as an image.
pub fn assert_embeds(html: &str, png: &Path) {
    let bytes = std::fs::read(png).expect("the PNG was written");
    let uri = format!("src=\"data:image/png;base64,{}\"", reports::html::base64(&bytes));
    assert!(html.contains(&uri), "the page does not embed {}", png.display());
}
