//! End to end: a report page opens in a real browser (headless Chromium) and paints a
//! non-trivial screenshot. Without Chromium the test says how to install it (`apt-get
//! install chromium`) and skips, except under CI (the `CI` environment variable is set),
//! whose script installs Chromium: there a missing browser fails the test.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fixture, png_size, scratch, FAILING};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Long enough for a cold start on a busy two-core machine.
const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn the_report_of_a_failing_run_renders_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI installs chromium (.ci/run), but {CHROMIUM} is missing");
        println!("skipping: chromium not installed (apt-get install chromium)");
        return;
    }
    let out = scratch("chromium");
    reports::render_run_into(&fixture(FAILING), &out, None).expect("the report renders");
    let screenshot = out.join("screenshot.png");
    let page = format!("file://{}", out.join(reports::REPORT_FILE).display());
    let mut browser = Command::new(CHROMIUM)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", out.join("profile").display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .args(["--window-size=1280,2000", &page])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    while browser.try_wait().expect("chromium can be waited for").is_none() {
        if started.elapsed() > TIMEOUT {
            let _ = browser.kill();
            panic!("chromium took more than {TIMEOUT:?} to take the screenshot");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let bytes = std::fs::read(&screenshot).expect("chromium saved a screenshot");
    assert_eq!(png_size(&bytes), (1280, 2000));
    let (_, _, pixels, samples) = common::decode(&bytes);
    let colours: std::collections::BTreeSet<&[u8]> = pixels.chunks(samples).map(|pixel| &pixel[..3]).collect();
    assert!(colours.len() > 200, "a blank or broken page has few colours; this one has {}", colours.len());
}
