//! Every vendor adapter is total and strict about its format, shown over the real payloads in
//! `../shared/fixtures` through the public API only (`AdapterKind::ALL`, `Adapter::parse`).
//!
//! - Each fixture is read by the adapter that owns it.
//! - No adapter accepts another format's fixture, apart from a short, explicit list of
//!   compatible pairs, and an adapter turns a foreign document away as `NotThisFormat`.
//! - Mutated fixtures (truncated, bytes flipped, ranges deleted or duplicated, stray brackets,
//!   quotes, NULs and invalid UTF-8, huge numbers, very long strings, 10,000 levels of nesting)
//!   give `Ok` or `Err` from every adapter and never a panic. Mutations come from a seeded PRNG,
//!   so a failure names the seed that reproduces it; `PHAROS_MUTATIONS=<n>` runs `n` mutations
//!   per fixture instead of the default.
//! - Inputs of 5 MiB finish (no time is asserted; the run shows it).
//!
//! Deeply nested documents are parsed on a named thread with the 2 MiB stack that tokio's
//! workers (which run the poller) also have, so a stack overflow, which aborts the process
//! rather than panicking, names the case in the abort message.

use pharos::domain::time::Timestamp;
use pharos::vendor::adapter::{AdapterKind, Document, ParseError};
use pharos::vendor::model::VendorSnapshot;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use url::Url;

/// Every fixture file and the adapter that owns it.
const FIXTURES: &[(&str, AdapterKind)] = &[
    ("atom/claude-history.atom", AdapterKind::StatuspageFeed),
    ("atom/github-history.atom", AdapterKind::StatuspageFeed),
    ("atom/travisci-history.atom", AdapterKind::StatuspageFeed),
    (
        "aws/health-currentevents-utf16be-bom.json",
        AdapterKind::AwsHealth,
    ),
    ("aws/status-data.json", AdapterKind::AwsStatus),
    ("azure/status-feed-empty.rss", AdapterKind::Azure),
    ("azure/status-feed-westus-early.rss", AdapterKind::Azure),
    ("azure/status-feed-westus-later.rss", AdapterKind::Azure),
    (
        "betterstack/huggingface-index-downtime.json",
        AdapterKind::Betterstack,
    ),
    (
        "checkly/mistral-unresolved-incidents.json",
        AdapterKind::Checkly,
    ),
    ("gcp/incidents.json", AdapterKind::Gcp),
    (
        "heroku/current-status-maintenance.json",
        AdapterKind::Heroku,
    ),
    (
        "incidentio/openai-summary-compat-minor.json",
        AdapterKind::Incidentio,
    ),
    (
        "instatus/perplexity-summary-major.json",
        AdapterKind::Instatus,
    ),
    ("rss/github-history.rss", AdapterKind::StatuspageFeed),
    ("rss/parse-history.rss", AdapterKind::StatuspageFeed),
    (
        "salesforce/trust-instances-status.json",
        AdapterKind::Salesforce,
    ),
    ("slack/current-active-incidents.json", AdapterKind::Slack),
    (
        "statusio/docker-status-partial-disruption.json",
        AdapterKind::Statusio,
    ),
    (
        "statusio/gitlab-status-planned-maintenance.json",
        AdapterKind::Statusio,
    ),
    (
        "statusio/gitlab-status-security-issue.json",
        AdapterKind::Statusio,
    ),
    (
        "statuspage/anthropic-scheduled-maintenances-completed.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/anthropic-summary-critical.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/bitbucket-summary-monitoring-impact-none.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/box-components-groups-degraded.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/cisco-urgentnotices-components-groups.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/ciscokinetic-components-degraded.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/cloudamqp-summary-maintenance-in-progress.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/coinbase-components-partial-outage-maintenance.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/digitalocean-components-groups.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/dropbox-components-flat.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-components-operational.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-components-partial-outage.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-incident-0lj0pn2vkw9x-legacy-2010.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-incident-gqx5l06jjxhp-critical.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-incident-pr3498h3qkfy-resolved.json",
        AdapterKind::Statuspage,
    ),
    ("statuspage/github-incidents.json", AdapterKind::Statuspage),
    (
        "statuspage/github-status-minor.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-summary-2020-05-22-investigating.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-summary-2026-07-24-critical.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-summary-all-operational.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/github-summary-packages-incident.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/lastpass-components-all-degraded.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/linode-components-groups-operational.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/newrelic-components-groups.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/reddit-components-groups.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/twilio-components-groups-degraded.json",
        AdapterKind::Statuspage,
    ),
    (
        "statuspage/twilio-summary-groups-incidents.json",
        AdapterKind::Statuspage,
    ),
];

/// The pairs where an adapter other than the owner may also accept a fixture.
fn compatible(kind: AdapterKind, path: &str) -> bool {
    let feed = path.ends_with(".atom") || path.ends_with(".rss");
    match kind {
        // incident.io serves Statuspage's v2 shapes, and the two adapters share one v2 parser
        // (they differ only in the documents they fetch), so each reads the other's documents.
        AdapterKind::Incidentio => path.starts_with("statuspage/"),
        AdapterKind::Statuspage => path.starts_with("incidentio/"),
        // The generic feed adapter is the fallback for any Atom or RSS feed, Statuspage's
        // history feeds and Azure's status feed included.
        AdapterKind::Feed => feed,
        _ => false,
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

struct Fixture {
    path: &'static str,
    owner: AdapterKind,
    url: Url,
    body: Vec<u8>,
}

fn load() -> Vec<Fixture> {
    FIXTURES
        .iter()
        .map(|&(path, owner)| {
            let file = fixtures_dir().join(path);
            let body =
                std::fs::read(&file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
            // Served the way the vendor tests serve them: from a local HTTP server.
            let url = Url::parse(&format!("http://127.0.0.1:8080/{path}")).unwrap();
            Fixture {
                path,
                owner,
                url,
                body,
            }
        })
        .collect()
}

fn fetched_at() -> Timestamp {
    Timestamp::parse("2026-08-01T12:00:00Z").unwrap()
}

fn parse(kind: AdapterKind, url: &Url, body: &[u8]) -> Result<VendorSnapshot, ParseError> {
    kind.adapter().parse(&Document {
        url,
        content_type: None,
        body,
        fetched_at: fetched_at(),
    })
}

/// Parse, turning a panic into its message.
fn parse_caught(
    kind: AdapterKind,
    url: &Url,
    body: &[u8],
) -> Result<Result<VendorSnapshot, ParseError>, String> {
    catch_unwind(AssertUnwindSafe(|| parse(kind, url, body))).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-string payload".to_string())
    })
}

#[test]
fn the_table_lists_every_fixture_file() {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.file_name().and_then(|n| n.to_str()) != Some("README.md") {
                let relative = path.strip_prefix(root).unwrap();
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = fixtures_dir();
    let mut on_disk = BTreeSet::new();
    walk(&root, &root, &mut on_disk);
    let in_table: BTreeSet<String> = FIXTURES.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(FIXTURES.len(), in_table.len(), "a fixture is listed twice");
    assert_eq!(in_table, on_disk);
    assert_eq!(FIXTURES.len(), 48);
}

#[test]
fn every_fixture_is_read_by_its_owner() {
    let failures: Vec<String> = load()
        .iter()
        .filter_map(|f| match parse_caught(f.owner, &f.url, &f.body) {
            Ok(Ok(_)) => None,
            Ok(Err(err)) => Some(format!("{} ({}): {err}", f.path, f.owner)),
            Err(panic) => Some(format!("{} ({}): PANIC {panic}", f.path, f.owner)),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "owners that cannot read their fixture:\n{}",
        failures.join("\n")
    );
}

/// What one adapter made of one fixture.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// The owner read it.
    Owner,
    /// The owner could not read it.
    OwnerFailed,
    /// A compatible adapter read it.
    Compatible,
    /// A compatible adapter turned it away (allowed either way).
    CompatibleRejected,
    /// Another adapter turned it away as not its format, as it should.
    Rejected,
    /// Another adapter took it for its own format with a bad value.
    BadValue,
    /// Another adapter accepted it.
    Accepted,
    Panicked,
}

impl Cell {
    fn symbol(self) -> char {
        match self {
            Cell::Owner => 'O',
            Cell::OwnerFailed => 'X',
            Cell::Compatible => '+',
            Cell::CompatibleRejected => '-',
            Cell::Rejected => '.',
            Cell::BadValue => 'B',
            Cell::Accepted => '!',
            Cell::Panicked => 'P',
        }
    }

    fn is_wrong(self) -> bool {
        matches!(self, Cell::BadValue | Cell::Accepted | Cell::Panicked)
    }
}

#[test]
fn no_adapter_takes_another_format() {
    let fixtures = load();
    let mut rows = Vec::new();
    let mut wrong = Vec::new();
    for f in &fixtures {
        let mut row = String::new();
        for &kind in AdapterKind::ALL {
            let result = parse_caught(kind, &f.url, &f.body);
            let cell = match (&result, kind == f.owner, compatible(kind, f.path)) {
                (Err(_), _, _) => Cell::Panicked,
                (Ok(Ok(_)), true, _) => Cell::Owner,
                (Ok(Err(_)), true, _) => Cell::OwnerFailed,
                (Ok(Ok(_)), false, true) => Cell::Compatible,
                (Ok(Err(_)), false, true) => Cell::CompatibleRejected,
                (Ok(Ok(_)), false, false) => Cell::Accepted,
                (Ok(Err(ParseError::NotThisFormat { .. })), false, false) => Cell::Rejected,
                (Ok(Err(ParseError::BadValue { .. })), false, false) => Cell::BadValue,
            };
            if cell.is_wrong() {
                let what = match result {
                    Err(panic) => format!("panicked: {panic}"),
                    Ok(Ok(_)) => "accepted it".to_string(),
                    Ok(Err(err)) => format!("said {err}"),
                };
                wrong.push(format!("{kind} on {}: {what}", f.path));
            }
            row.push(cell.symbol());
            row.push_str("  ");
        }
        rows.push(format!("{row} {}", f.path));
    }
    if !wrong.is_empty() {
        let header: String = AdapterKind::ALL
            .iter()
            .enumerate()
            .map(|(i, kind)| format!("{:>width$}{kind}\n", "", width = 3 * i))
            .collect();
        panic!(
            "adapters that take a format not theirs:\n{}\n\nmatrix (O owner read it, X owner \
             failed, + compatible read it, - compatible declined, . rejected, B bad value on \
             a foreign format, ! accepted, P panic):\n{header}{}",
            wrong.join("\n"),
            rows.join("\n")
        );
    }
}

/// Byte strings spliced into documents.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"[",
    b"\"",
    b"}",
    b"]",
    b",",
    b":",
    b"\\u0000",
    b"\0",
    b"\xff",
    b"\xc3\x28",
    b"\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"<",
    b"</",
    b"&",
    b"<![CDATA[",
    b"null",
];

const HUGE_NUMBERS: &[&str] = &[
    "1e999999",
    "-1e999999",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "99999999999999999999999999999999999999999999",
    "1.7976931348623157e309",
    "0.0000000000000000000000000000000000000001",
    "-0",
    "NaN",
    "Infinity",
    "253402300800000",
    "-62135596800",
];

fn long_string(rng: &mut StdRng) -> Vec<u8> {
    let (unit, times): (&[u8], usize) = match rng.random_range(0..7) {
        0 => (b"a", 64 * 1024),
        1 => (b"\\u0000", 10_000),
        2 => (b"<b>x</b>", 8_000),
        3 => (b"&amp;&#x10FFFF;&#0;&bogus;", 3_000),
        4 => (b"\\ud800", 2_000),
        5 => ("é€😀".as_bytes(), 8_000),
        _ => (b"<p>", 20_000),
    };
    unit.repeat(times)
}

/// Where `needle` next occurs at or after `from`, wrapping around.
fn find_from(body: &[u8], from: usize, needle: impl Fn(u8) -> bool) -> Option<usize> {
    let from = from.min(body.len());
    body.get(from..)
        .and_then(|tail| tail.iter().position(|&b| needle(b)).map(|i| i + from))
        .or_else(|| body.iter().position(|&b| needle(b)))
}

fn is_xml(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xef && **b != 0xbb && **b != 0xbf)
        .is_some_and(|&b| b == b'<')
}

const DEPTH: usize = 10_000;

/// A document nested `DEPTH` levels deep, built from `body`.
fn nest(rng: &mut StdRng, body: &[u8]) -> (Vec<u8>, String) {
    let at = rng.random_range(0..=body.len());
    match rng.random_range(0..4) {
        0 if is_xml(body) => {
            // Balanced elements inside the root element.
            let start = find_from(body, 1, |b| b == b'>').map_or(body.len(), |i| i + 1);
            let mut out = body[..start].to_vec();
            out.extend(b"<x>".repeat(DEPTH));
            out.extend(b"</x>".repeat(DEPTH));
            out.extend(&body[start..]);
            (out, format!("{DEPTH} nested <x> elements at byte {start}"))
        }
        0 | 1 => {
            let mut out = b"[".repeat(DEPTH);
            out.extend(body);
            out.extend(b"]".repeat(DEPTH));
            (out, format!("wrapped in {DEPTH} levels of []"))
        }
        2 => {
            let mut out = body[..at].to_vec();
            out.extend(b"[".repeat(DEPTH));
            out.extend(&body[at..]);
            (out, format!("{DEPTH} unclosed [ at byte {at}"))
        }
        _ => {
            let mut out = b"{\"a\":".repeat(DEPTH);
            out.extend(body);
            out.extend(b"}".repeat(DEPTH));
            (out, format!("wrapped in {DEPTH} levels of {{\"a\": }}"))
        }
    }
}

/// One mutation of `body`, its description, and whether it nests deeply.
fn mutate(rng: &mut StdRng, body: &[u8]) -> (Vec<u8>, String, bool) {
    let len = body.len();
    let pos = |rng: &mut StdRng| rng.random_range(0..=len);
    let (out, what) = match rng.random_range(0..9) {
        0 | 1 => {
            let at = pos(rng);
            (body[..at].to_vec(), format!("truncated at byte {at}"))
        }
        2 => {
            let mut out = body.to_vec();
            let mut flips = Vec::new();
            for _ in 0..rng.random_range(1..=8) {
                if out.is_empty() {
                    break;
                }
                let at = rng.random_range(0..out.len());
                let byte = if rng.random_bool(0.5) {
                    out[at] ^ (1 << rng.random_range(0..8))
                } else {
                    rng.random()
                };
                out[at] = byte;
                flips.push(format!("{at}={byte:#04x}"));
            }
            (out, format!("bytes set: {}", flips.join(" ")))
        }
        3 => {
            let start = pos(rng);
            let max = if rng.random_bool(0.7) {
                16
            } else {
                len / 2 + 1
            };
            let end = (start + rng.random_range(1..=max)).min(len);
            let mut out = body[..start].to_vec();
            out.extend(&body[end..]);
            (out, format!("deleted bytes {start}..{end}"))
        }
        4 => {
            let start = pos(rng);
            let end = (start + rng.random_range(1..=512)).min(len);
            let at = pos(rng);
            let mut out = body[..at].to_vec();
            out.extend(&body[start..end]);
            out.extend(&body[at..]);
            (out, format!("bytes {start}..{end} copied to byte {at}"))
        }
        5 => {
            let mut out = body.to_vec();
            let mut spliced = Vec::new();
            for _ in 0..rng.random_range(1..=4) {
                let at = rng.random_range(0..=out.len());
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                out.splice(at..at, token.iter().copied());
                spliced.push(format!("\"{}\"@{at}", token.escape_ascii()));
            }
            (out, format!("inserted {}", spliced.join(" ")))
        }
        6 => {
            let huge = HUGE_NUMBERS[rng.random_range(0..HUGE_NUMBERS.len())];
            match find_from(body, pos(rng), |b| b.is_ascii_digit()) {
                Some(start) => {
                    let end = body[start..]
                        .iter()
                        .position(|b| !(b.is_ascii_digit() || b"+-.eE".contains(b)))
                        .map_or(len, |i| start + i);
                    let mut out = body[..start].to_vec();
                    out.extend(huge.as_bytes());
                    out.extend(&body[end..]);
                    (out, format!("number at {start}..{end} replaced by {huge}"))
                }
                None => (body.to_vec(), "no number to replace".to_string()),
            }
        }
        7 => {
            let long = long_string(rng);
            let at = find_from(body, pos(rng), |b| b == b'"' || b == b'>').map_or(len, |i| i + 1);
            let mut out = body[..at].to_vec();
            let head = String::from_utf8_lossy(&long[..long.len().min(12)]).into_owned();
            out.extend(&long);
            out.extend(&body[at..]);
            (
                out,
                format!("{} bytes of {head:?}… inserted at byte {at}", long.len()),
            )
        }
        _ => {
            let (out, what) = nest(rng, body);
            return (out, what, true);
        }
    };
    (out, what, false)
}

/// Mutations per fixture: the default, or `PHAROS_MUTATIONS`.
fn mutations_per_fixture(len: usize) -> usize {
    if let Some(n) = std::env::var("PHAROS_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    // A few hundred for small documents, fewer for the large ones, so that the whole binary
    // stays near a minute in a debug build on two cores.
    const BYTES: usize = 16 * 1024 * 1024;
    (BYTES / len.max(1)).clamp(40, 300)
}

const SEED: u64 = 0x5eed_0ffa_1805;
const SHARDS: usize = 4;

/// Run the mutations of every `SHARDS`-th fixture, starting with `shard`.
fn mutation_shard(shard: usize) {
    let fixtures = load();
    let mut cases = 0usize;
    let mut parses = 0usize;
    let mut accepted = 0usize;
    let mut failures = Vec::new();
    for (index, f) in fixtures.iter().enumerate().skip(shard).step_by(SHARDS) {
        for case in 0..mutations_per_fixture(f.body.len()) {
            let seed = SEED ^ ((index as u64) << 32) ^ case as u64;
            let mut rng = StdRng::seed_from_u64(seed);
            let (body, what, deep) = mutate(&mut rng, &f.body);
            cases += 1;
            for &kind in AdapterKind::ALL {
                parses += 1;
                let outcome = if deep {
                    on_small_stack(
                        kind,
                        &f.url,
                        &body,
                        &format!("seed {seed:#x} {} {kind}", f.path),
                    )
                } else {
                    parse_caught(kind, &f.url, &body).map(|result| result.is_ok())
                };
                match outcome {
                    Ok(true) => accepted += 1,
                    Ok(false) => {}
                    Err(panic) => failures.push(format!(
                        "seed {seed:#x}, fixture {}, adapter {kind}, mutation {what}: {panic}",
                        f.path
                    )),
                }
            }
        }
    }
    println!(
        "shard {shard}: {cases} mutated documents, {parses} parses ({accepted} Ok), all returned"
    );
    assert!(
        failures.is_empty(),
        "{} of {parses} parses panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Parse on a thread named after the case, with a tokio worker's 2 MiB stack; whether the
/// adapter accepted the document, or the panic.
fn on_small_stack(kind: AdapterKind, url: &Url, body: &[u8], name: &str) -> Result<bool, String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(name.to_string())
            .stack_size(2 * 1024 * 1024)
            .spawn_scoped(scope, || {
                parse_caught(kind, url, body).map(|result| result.is_ok())
            })
            .expect("spawn a parsing thread")
            .join()
            .unwrap_or_else(|_| Err("the parsing thread panicked".to_string()))
    })
}

#[test]
fn mutated_fixtures_never_panic_shard_0() {
    mutation_shard(0);
}

#[test]
fn mutated_fixtures_never_panic_shard_1() {
    mutation_shard(1);
}

#[test]
fn mutated_fixtures_never_panic_shard_2() {
    mutation_shard(2);
}

#[test]
fn mutated_fixtures_never_panic_shard_3() {
    mutation_shard(3);
}

#[test]
fn deeply_nested_fixtures_never_overflow() {
    let mut failures = Vec::new();
    let mut parses = 0;
    for f in load() {
        let mut wrapped = b"[".repeat(DEPTH);
        wrapped.extend(&f.body);
        wrapped.extend(b"]".repeat(DEPTH));
        for &kind in AdapterKind::ALL {
            parses += 1;
            let name = format!("{DEPTH} levels of [] around {} for {kind}", f.path);
            match on_small_stack(kind, &f.url, &wrapped, &name) {
                Ok(_) => {}
                Err(panic) => failures.push(format!("{name}: {panic}")),
            }
        }
    }
    println!("{parses} deeply nested parses returned");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const FIVE_MIB: usize = 5 * 1024 * 1024;

#[test]
fn five_mib_of_unrelated_json_is_turned_away() {
    let mut body = String::from("{\"rows\":[");
    let mut i = 0u64;
    while body.len() < FIVE_MIB {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            "{{\"id\":{i},\"name\":\"row {i}\",\"values\":[1.5,-2,true,null,\"x\"],\"nested\":{{\"a\":{{\"b\":[{i}]}}}}}}"
        ));
        i += 1;
    }
    body.push_str("]}");
    let url = Url::parse("http://127.0.0.1:8080/huge.json").unwrap();
    for &kind in AdapterKind::ALL {
        match parse_caught(kind, &url, body.as_bytes()) {
            Ok(Err(_)) => {}
            Ok(Ok(_)) => panic!("{kind} accepted 5 MiB of unrelated JSON"),
            Err(panic) => panic!("{kind} panicked on 5 MiB of unrelated JSON: {panic}"),
        }
    }
}

#[test]
fn a_five_mib_update_body_is_read() {
    let path = "statuspage/github-summary-2026-07-24-critical.json";
    let summary = std::fs::read_to_string(fixtures_dir().join(path)).unwrap();
    let unit = "<p>word &amp; more</p>";
    let huge = unit.repeat(FIVE_MIB / unit.len() + 1);
    let marker = "\"body\":\"";
    let at = summary.find(marker).expect("an update body") + marker.len();
    let body = format!("{}{huge}{}", &summary[..at], &summary[at..]);
    assert!(body.len() > FIVE_MIB);

    let url = Url::parse(&format!("http://127.0.0.1:8080/{path}")).unwrap();
    for &kind in AdapterKind::ALL {
        let result = parse_caught(kind, &url, body.as_bytes())
            .unwrap_or_else(|panic| panic!("{kind} panicked on a 5 MiB body: {panic}"));
        if kind == AdapterKind::Statuspage {
            let snapshot = result.expect("the summary is still a summary");
            let longest = snapshot
                .incidents
                .iter()
                .flat_map(|i| &i.updates)
                .map(|u| u.body.len())
                .max()
                .unwrap_or(0);
            assert!(longest > 1024 * 1024, "the long body was cut to {longest}");
        }
    }
}
