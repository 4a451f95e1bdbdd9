//! Hostile input: a million requests across every action, built two ways: structured
//! generation of Kaltura parameters (wrong types, huge and negative numbers, unicode, NUL,
//! overlong strings, deep nesting, duplicate keys, form and JSON bodies, odd content types and
//! names) and random byte mutation of valid bodies. Every reply must be a Kaltura error or a
//! valid result; none may be a 5xx, a dropped connection, a timeout or a panic in the log.
//!
//! A body the server would accept as a sign-in or password change costs an argon2id hash
//! (~25 ms of a core); those are capped (`--hash-budget`) so hashing does not dominate, by
//! predicting, with the server's own parameter rules, which bodies would reach the hash.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use super::{Env, Findings, Row};
use crate::client::{Conn, Failure, Outcome};
use crate::server::{Server, Spec, random_password, temp_dir};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Int,
    Obj,
}

/// An action: service, action, whether it needs a KS, and its parameters (`ks` is added
/// separately to the ones that need it).
type Action = (
    &'static str,
    &'static str,
    bool,
    &'static [(&'static str, Kind)],
);

/// What each action reads, spelled as the app calls it. Which actions are attacked comes from
/// the server's own table ([`actions`]); a test keeps the two in step.
const PARAMETERS: &[Action] = &[
    (
        "user",
        "loginByLoginId",
        false,
        &[
            ("loginId", Kind::Str),
            ("password", Kind::Str),
            ("partnerId", Kind::Int),
            ("expiry", Kind::Int),
            ("privileges", Kind::Str),
            ("otp", Kind::Str),
        ],
    ),
    ("user", "generateQrCode", false, &[("hashKey", Kind::Str)]),
    ("user", "resetPassword", false, &[("email", Kind::Str)]),
    ("user", "validateHashKey", false, &[("hashKey", Kind::Str)]),
    (
        "user",
        "setInitialPassword",
        false,
        &[("hashKey", Kind::Str), ("newPassword", Kind::Str)],
    ),
    (
        "user",
        "loginByKs",
        true,
        &[("requestedPartnerId", Kind::Int)],
    ),
    ("user", "get", true, &[]),
    (
        "adminUser",
        "updatePassword",
        false,
        &[
            ("email", Kind::Str),
            ("password", Kind::Str),
            ("newEmail", Kind::Str),
            ("newPassword", Kind::Str),
            ("otp", Kind::Str),
        ],
    ),
    (
        "adminUser",
        "setInitialPassword",
        false,
        &[("hashKey", Kind::Str), ("newPassword", Kind::Str)],
    ),
    (
        "partner",
        "listPartnersForUser",
        true,
        &[("partnerFilter", Kind::Obj), ("pager", Kind::Obj)],
    ),
    ("partner", "getInfo", true, &[]),
    ("session", "end", true, &[]),
];

/// Every action the server answers, with its parameters from [`PARAMETERS`] (none for an
/// action that table does not know: it is still attacked, with hostile names and bodies).
fn actions() -> Vec<Action> {
    kmc_server::api::actions()
        .map(|(service, action)| {
            PARAMETERS
                .iter()
                .find(|(s, a, _, _)| {
                    s.eq_ignore_ascii_case(service) && a.eq_ignore_ascii_case(action)
                })
                .copied()
                .unwrap_or((service, action, false, &[]))
        })
        .collect()
}

/// Real values, so that part of the traffic gets past validation into the actions.
struct Valid {
    email: String,
    password: String,
    partner: i64,
    ks: String,
}

/// One generated request.
struct Req {
    method: &'static str,
    path: String,
    content_type: Option<String>,
    body: Vec<u8>,
    /// How it was made (for the report).
    how: &'static str,
}

const STRINGS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "\u{0}@example.com",
    "null",
    "true",
    "-1",
    "1e309",
    "9223372036854775808",
    "٣٤٥",
    "１２３４５６",
    "\u{202e}moc.elpmaxe@nimda",
    "\u{feff}admin@example.com",
    "e\u{301}\u{301}\u{301}\u{301}",
    "𝕂𝕒𝕝𝕥𝕦𝕣𝕒🙂",
    "' OR '1'='1' --",
    "\"; DROP TABLE logins; --",
    "%s%s%n%x",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "a@b",
    "@",
    "ADMIN@EXAMPLE.COM",
    "admin@example.com ",
    "\r\nSet-Cookie: x=1",
    "\t\n\r\u{b}\u{c}",
    "djJ8MTAwfA==",
    "*",
    "disableentitlement,appid:kmc",
    "000000",
    "12 34 56",
    "123-456",
    "0000000000000000000000000000000000000001",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-320",
    "0.5",
    "1.0",
    "1E2",
    "123456789012345678901234567890",
];

/// Broken JSON fragments that appear where a value should be.
const RAW_BROKEN: &[&str] = &[
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\x41\"",
    "\"abc",
    "'single'",
    "NaN",
    "Infinity",
    "+1",
    "01",
    "0x10",
    "-",
    "\"\\u00\"",
    "undefined",
    "[1,]",
    "{\"a\":}",
];

fn json_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn nested(rng: &mut StdRng, depth: usize) -> String {
    let (open, close) = if rng.gen_bool(0.5) {
        ("[", "]")
    } else {
        ("{\"a\":", "}")
    };
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}

/// A hostile JSON value (as text) for a parameter.
fn hostile_value(rng: &mut StdRng) -> String {
    match rng.gen_range(0..100) {
        0..=29 => json_str(STRINGS[rng.gen_range(0..STRINGS.len())]),
        30..=44 => NUMBERS[rng.gen_range(0..NUMBERS.len())].to_string(),
        45..=49 => ["true", "false", "null"][rng.gen_range(0..3)].to_string(),
        50..=57 => RAW_BROKEN[rng.gen_range(0..RAW_BROKEN.len())].to_string(),
        58..=64 => [
            "[]",
            "{}",
            "[\"a\"]",
            "{\"a\":\"b\"}",
            "[null]",
            "{\"\":[]}",
        ][rng.gen_range(0..6)]
        .to_string(),
        65..=70 => {
            let depth = if rng.gen_bool(0.5) {
                rng.gen_range(1..40)
            } else {
                rng.gen_range(100..3000)
            };
            nested(rng, depth)
        }
        71..=76 => {
            // Overlong text, now and then past the 64 KiB body limit.
            let n = if rng.gen_ratio(1, 20) {
                rng.gen_range(60_000..70_000)
            } else {
                rng.gen_range(257..5_000)
            };
            let c = ['a', 'é', '🙂', '\u{0}', '"', '\\'][rng.gen_range(0..6)];
            json_str(&c.to_string().repeat(n / c.len_utf8()))
        }
        77..=84 => {
            // Random code points, including controls and the private use area.
            let n = rng.gen_range(0..40);
            let s: String = (0..n)
                .map(|_| char::from_u32(rng.gen_range(0..0x11_0000)).unwrap_or('\u{fffd}'))
                .collect();
            json_str(&s)
        }
        _ => {
            // A number as text, an email with odd parts, a big or negative integer.
            match rng.gen_range(0..4) {
                0 => json_str(&rng.r#gen::<i64>().to_string()),
                1 => rng.r#gen::<i64>().to_string(),
                2 => json_str(&format!(
                    "{}@{}.example",
                    "x".repeat(rng.gen_range(1..300)),
                    "y".repeat(rng.gen_range(1..80))
                )),
                _ => format!("{}", rng.r#gen::<f64>() * 1e20),
            }
        }
    }
}

fn valid_value(name: &str, kind: Kind, v: &Valid, rng: &mut StdRng) -> Value {
    match (name, kind) {
        ("loginId" | "email", _) => json!(v.email),
        ("password", _) => json!(v.password),
        ("newPassword", _) => json!(random_password()),
        ("newEmail", _) => json!(""),
        ("privileges", _) => json!("disableentitlement,appid:kmc"),
        ("otp", _) => json!(""),
        ("expiry", _) => json!(3600),
        ("hashKey", _) => {
            let k: u128 = rng.r#gen();
            json!(format!("{k:032x}{k:011x}"))
        }
        (_, Kind::Int) => json!(v.partner),
        ("pager", _) => json!({"pageSize": 500, "pageIndex": 1}),
        (_, Kind::Obj) => json!({"statusEqual": 1}),
        _ => json!("x"),
    }
}

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Generates one request.
fn generate(rng: &mut StdRng, v: &Valid, actions: &[Action]) -> Req {
    let (service, action, needs_ks, params) = actions[rng.gen_range(0..actions.len())];
    let (mut service, mut action) = (service.to_string(), action.to_string());
    // Names: mostly right, sometimes case-changed, unknown or odd.
    match rng.gen_range(0..100) {
        0..=3 => {
            service = service.to_uppercase();
            action = action.to_lowercase();
        }
        4..=5 => action = pct(&format!("{action}\u{0}x")),
        6 => service = "nosuchservice".into(),
        7 => action = "x".repeat(rng.gen_range(60..400)),
        8 => action = "%2e%2e".into(),
        _ => {}
    }
    let query = match rng.gen_range(0..100) {
        0..=2 => "?format=2".to_string(),
        3..=4 => String::new(),
        5 => "?format=1&ks=abc&format=9".to_string(),
        6 => format!("?{}", "a=1&".repeat(rng.gen_range(10..500))),
        _ => "?format=1".to_string(),
    };
    let path = format!("/api_v3/service/{service}/action/{action}{query}");
    let method = match rng.gen_range(0..200) {
        0 => "GET",
        1 => "PUT",
        2 => "DELETE",
        3 => "PATCH",
        _ => "POST",
    };

    // A valid body for the action, in JSON and as a form.
    let mut valid = Map::new();
    if needs_ks {
        valid.insert("ks".into(), json!(v.ks));
    }
    for (name, kind) in params.iter().copied() {
        valid.insert(name.into(), valid_value(name, kind, v, rng));
    }
    let form_of = |m: &Map<String, Value>| -> String {
        m.iter()
            .filter_map(|(k, val)| {
                let text = match val {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some(format!("{}={}", pct(k), pct(&text)))
            })
            .collect::<Vec<_>>()
            .join("&")
    };

    let (content_type, body, how): (Option<String>, Vec<u8>, &'static str) =
        match rng.gen_range(0..100) {
            // Structured: each parameter valid or hostile, extra and duplicate keys.
            0..=44 => {
                let mut parts: Vec<String> = Vec::new();
                if needs_ks || rng.gen_ratio(1, 10) {
                    let ks = if rng.gen_bool(0.5) && action != "end" {
                        json_str(&v.ks)
                    } else {
                        hostile_value(rng)
                    };
                    parts.push(format!("\"ks\":{ks}"));
                }
                for (name, kind) in params.iter().copied() {
                    if rng.gen_ratio(1, 8) {
                        continue;
                    }
                    let value = if rng.gen_bool(0.5) {
                        valid_value(name, kind, v, rng).to_string()
                    } else {
                        hostile_value(rng)
                    };
                    parts.push(format!("{}:{value}", json_str(name)));
                    if rng.gen_ratio(1, 10) {
                        parts.push(format!("{}:{}", json_str(name), hostile_value(rng)));
                    }
                }
                if rng.gen_ratio(1, 5) {
                    let key = [
                        "",
                        "\u{0}",
                        "LOGINID",
                        "__proto__",
                        "clientTag",
                        "apiVersion",
                    ][rng.gen_range(0..6)];
                    parts.push(format!("{}:{}", json_str(key), hostile_value(rng)));
                }
                let body = format!("{{{}}}", parts.join(","));
                let ct = match rng.gen_range(0..20) {
                    0 => "application/json; charset=utf-8",
                    1 => "APPLICATION/JSON",
                    2 => "application/json;",
                    _ => "application/json",
                };
                (Some(ct.into()), body.into_bytes(), "structured JSON")
            }
            // Structured form bodies: text values, odd encodings, invalid UTF-8.
            45..=59 => {
                let mut pairs: Vec<Vec<u8>> = Vec::new();
                for (k, val) in valid.iter() {
                    let text = match rng.gen_range(0..6) {
                        0 => pct(STRINGS[rng.gen_range(0..STRINGS.len())]),
                        1 => NUMBERS[rng.gen_range(0..NUMBERS.len())].to_string(),
                        2 => ["%00", "%FF%FE", "%", "%zz", "+", "&", "=", "%C3%28"]
                            [rng.gen_range(0..8)]
                        .to_string(),
                        _ => match val {
                            Value::String(s) => pct(s),
                            Value::Number(n) => n.to_string(),
                            other => pct(&other.to_string()),
                        },
                    };
                    pairs.push(format!("{}={text}", pct(k)).into_bytes());
                    if rng.gen_ratio(1, 10) {
                        pairs.push(format!("{}=dup", pct(k)).into_bytes());
                    }
                }
                if rng.gen_ratio(1, 10) {
                    pairs.push(vec![b'x', b'=', 0xff, 0xfe, 0x80]);
                }
                if rng.gen_ratio(1, 10) {
                    pairs.push(b"&&==&a=b=c".to_vec());
                }
                let body = pairs.join(&b'&');
                let ct = if rng.gen_ratio(1, 10) {
                    "application/x-www-form-urlencoded; charset=latin1"
                } else {
                    "application/x-www-form-urlencoded"
                };
                (Some(ct.into()), body, "structured form")
            }
            // Whole bodies that are not parameter objects, or wrong content types.
            60..=69 => {
                let body: Vec<u8> = match rng.gen_range(0..12) {
                    0 => Vec::new(),
                    1 => b"   \r\n".to_vec(),
                    2 => b"null".to_vec(),
                    3 => b"[]".to_vec(),
                    4 => b"\"text\"".to_vec(),
                    5 => b"{".to_vec(),
                    6 => b"{}}".to_vec(),
                    7 => {
                        let depth = rng.gen_range(100..20_000);
                        nested(rng, depth).into_bytes()
                    }
                    8 => {
                        let mut b = Value::Object(valid.clone()).to_string().into_bytes();
                        b.resize(rng.gen_range(65_537..70_000), b' ');
                        b
                    }
                    9 => (0..rng.gen_range(1..200))
                        .map(|_| rng.r#gen::<u8>())
                        .collect(),
                    10 => b"{\"a\":1}\0{\"b\":2}".to_vec(),
                    _ => Value::Object(valid.clone()).to_string().into_bytes(),
                };
                let ct = match rng.gen_range(0..8) {
                    0 => None,
                    1 => Some("text/plain"),
                    2 => Some("application/xml"),
                    3 => Some("multipart/form-data; boundary=x"),
                    4 => Some("application/jsonx"),
                    5 => Some("application/json ; charset=\"utf-8\""),
                    _ => Some("application/json"),
                };
                (ct.map(str::to_string), body, "whole-body oddities")
            }
            // Random byte mutation of a valid body.
            _ => {
                let form = rng.gen_ratio(1, 4);
                let mut body = if form {
                    form_of(&valid).into_bytes()
                } else {
                    Value::Object(valid.clone()).to_string().into_bytes()
                };
                mutate(rng, &mut body);
                let ct = if form {
                    "application/x-www-form-urlencoded"
                } else {
                    "application/json"
                };
                (Some(ct.into()), body, "mutated valid body")
            }
        };
    Req {
        method,
        path,
        content_type,
        body,
        how,
    }
}

/// Applies 1–8 random byte-level mutations.
fn mutate(rng: &mut StdRng, body: &mut Vec<u8>) {
    const TOKENS: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b"\\",
        b",",
        b":",
        b"\\u0000",
        b"\\ud800",
        b"99999999999999999999",
        b"-",
        b"null",
        b"%00",
        b"&",
        b"=",
        b"\xff",
        b"\xc3",
    ];
    for _ in 0..rng.gen_range(1..=8) {
        let len = body.len();
        match rng.gen_range(0..6) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                body[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                body[i] = rng.r#gen();
            }
            2 if len > 0 => {
                let a = rng.gen_range(0..len);
                let b = (a + rng.gen_range(1..16)).min(len);
                body.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.gen_range(0..len);
                let b = (a + rng.gen_range(1..32)).min(len);
                let chunk = body[a..b].to_vec();
                let at = rng.gen_range(0..=body.len());
                body.splice(at..at, chunk);
            }
            _ => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                let at = rng.gen_range(0..=body.len());
                body.splice(at..at, t.iter().copied());
            }
        }
    }
}

/// The parameters the server would read from a body, by its rules (`params.rs`), or `None`
/// when it would refuse the body before any action runs.
fn server_params(ct: Option<&str>, body: &[u8]) -> Option<(Map<String, Value>, bool)> {
    if body.len() > 64 * 1024 {
        return None;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some((Map::new(), false));
    }
    let ct = ct?
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json" => match serde_json::from_slice::<Value>(body).ok()? {
            Value::Object(m) => Some((m, false)),
            _ => None,
        },
        "application/x-www-form-urlencoded" => {
            std::str::from_utf8(body).ok()?;
            let mut m = Map::new();
            for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
                let mut kv = pair.splitn(2, |&b| b == b'=');
                let k = unpct(kv.next().unwrap_or_default());
                let v = unpct(kv.next().unwrap_or_default());
                m.insert(k, Value::String(v));
            }
            Some((m, true))
        }
        _ => None,
    }
}

fn unpct(s: &[u8]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when the server would hash a password for this request: a sign-in or password change
/// whose parameters all pass their type checks.
fn would_hash(path: &str, method: &str, ct: Option<&str>, body: &[u8]) -> bool {
    if method != "POST" {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    let login = lower.starts_with("/api_v3/service/user/action/loginbyloginid?")
        || lower.ends_with("/api_v3/service/user/action/loginbyloginid");
    let change = lower.starts_with("/api_v3/service/adminuser/action/updatepassword?")
        || lower.ends_with("/api_v3/service/adminuser/action/updatepassword");
    if !login && !change {
        return false;
    }
    let Some((m, form)) = server_params(ct, body) else {
        return false;
    };
    let text = |n: &str| match m.get(n) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(Value::Number(x)) => Some(Some(x.to_string())),
        _ => None,
    };
    let int = |n: &str| match m.get(n) {
        None | Some(Value::Null) => true,
        Some(Value::Number(x)) => x.as_i64().is_some(),
        Some(Value::String(s)) if s.trim().is_empty() && form => true,
        Some(Value::String(s)) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    };
    let ks_ok = matches!(m.get("ks"), None | Some(Value::Null | Value::String(_)));
    let present = |n: &str| matches!(text(n), Some(Some(_)));
    let non_empty = |n: &str| matches!(text(n), Some(Some(s)) if !s.trim().is_empty());
    if !ks_ok {
        return false;
    }
    if login {
        non_empty("loginId")
            && present("password")
            && int("partnerId")
            && int("expiry")
            && text("privileges").is_some()
            && text("otp").is_some()
    } else {
        let email = text("email").flatten().unwrap_or_default();
        let new_email = match text("newEmail") {
            Some(s) => s.unwrap_or_default(),
            None => return false,
        };
        non_empty("email")
            && present("password")
            && present("newPassword")
            && text("otp").is_some()
            && (new_email.trim().is_empty() || new_email.trim().eq_ignore_ascii_case(email.trim()))
    }
}

#[derive(Default)]
struct Tally {
    sent: u64,
    values: u64,
    errors: BTreeMap<String, u64>,
    statuses: BTreeMap<u16, u64>,
    garbled: u64,
    server_errors: u64,
    dropped: u64,
    timeouts: u64,
    connect_failures: u64,
    hashing: u64,
    stale_retries: u64,
    by_how: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.sent += o.sent;
        self.values += o.values;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in o.by_how {
            *self.by_how.entry(k).or_default() += v;
        }
        self.garbled += o.garbled;
        self.server_errors += o.server_errors;
        self.dropped += o.dropped;
        self.timeouts += o.timeouts;
        self.connect_failures += o.connect_failures;
        self.hashing += o.hashing;
        self.stale_retries += o.stale_retries;
        for e in o.examples {
            if self.examples.len() < 10 {
                self.examples.push(e);
            }
        }
    }

    fn example(&mut self, what: &str, req: &Req, detail: &str) {
        if self.examples.len() < 10 {
            let body: String = String::from_utf8_lossy(&req.body)
                .chars()
                .take(160)
                .collect();
            self.examples.push(format!(
                "{what}: {} {} ({:?}) body {body:?} → {detail}",
                req.method, req.path, req.content_type
            ));
        }
    }
}

/// Runs the attack.
pub async fn run(env: &Env) -> Findings {
    let o = &env.opts;
    let tmp = temp_dir("hostile")?;
    let mut server = Server::start(Spec::api_only(
        &env.bin,
        tmp.path(),
        &["--reveal-login-errors".into()],
    ))?;
    let partner = server.add_partner("Hostile Sandbox", false)?;
    let email = "hostile@example.com".to_string();
    let password = random_password();
    server.add_user(partner, &email, Some(&password))?;
    let mut c = Conn::new(server.addr, None);
    let r = c
        .call(
            "user",
            "loginByLoginId",
            &json!({"loginId": email, "password": password, "partnerId": partner}),
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| anyhow::anyhow!("first sign-in: {e}"))?;
    let ks: String = serde_json::from_slice(&r.body)
        .map_err(|_| anyhow::anyhow!("first sign-in answered {}", r.text(200)))?;
    let actions: Arc<[Action]> = actions().into();
    let action_count = actions.len();
    let valid = Arc::new(Valid {
        email,
        password,
        partner,
        ks,
    });

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = super::rss_sampler(server.pid(), Duration::from_secs(1), stop.clone());
    let next = Arc::new(AtomicU64::new(0));
    let hash_left = Arc::new(AtomicU64::new(o.hash_budget));
    let total = o.requests;
    // Bounded in time too: never more than 15 minutes, whatever the machine does.
    let deadline = Instant::now() + Duration::from_secs(900);
    let start = Instant::now();
    let progress = {
        let next = next.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                let n = next.load(Ordering::Relaxed).min(total);
                println!("  {n} requests in {:.0} s", start.elapsed().as_secs_f64());
                if n >= total {
                    break;
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for t in 0..o.connections {
        let (next, hash_left, valid) = (next.clone(), hash_left.clone(), valid.clone());
        let actions = actions.clone();
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0x6b6d_6300 + t as u64);
            let mut conn = Conn::new(addr, None);
            let mut tally = Tally::default();
            while next.fetch_add(1, Ordering::Relaxed) < total && Instant::now() < deadline {
                let req = loop {
                    let req = generate(&mut rng, &valid, &actions);
                    if !would_hash(
                        &req.path,
                        req.method,
                        req.content_type.as_deref(),
                        &req.body,
                    ) {
                        break req;
                    }
                    // Costs a hash: only within the budget.
                    if hash_left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        tally.hashing += 1;
                        break req;
                    }
                };
                tally.sent += 1;
                *tally.by_how.entry(req.how).or_default() += 1;
                let result = conn
                    .request(
                        req.method,
                        &req.path,
                        req.content_type.as_deref(),
                        &req.body,
                        Duration::from_secs(60),
                    )
                    .await;
                match result {
                    Ok(reply) => {
                        *tally.statuses.entry(reply.status).or_default() += 1;
                        if reply.status >= 500 {
                            tally.server_errors += 1;
                            tally.example("5xx", &req, &reply.text(200));
                        }
                        match reply.outcome() {
                            Outcome::Error(code) => *tally.errors.entry(code).or_default() += 1,
                            Outcome::Value(_) => tally.values += 1,
                            Outcome::Garbled => {
                                tally.garbled += 1;
                                tally.example(
                                    "not a Kaltura reply",
                                    &req,
                                    &format!("HTTP {} {}", reply.status, reply.text(200)),
                                );
                            }
                        }
                    }
                    Err(Failure::Timeout) => {
                        tally.timeouts += 1;
                        tally.example("timeout", &req, "no reply in 60 s");
                    }
                    Err(Failure::Connect(e)) => {
                        tally.connect_failures += 1;
                        tally.example("connect", &req, &e);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(Failure::Dropped(e)) => {
                        tally.dropped += 1;
                        tally.example("dropped", &req, &e);
                    }
                }
            }
            tally.stale_retries = conn.stale_retries;
            tally
        }));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await.context("a client task failed")?);
    }
    progress.abort();
    stop.store(true, Ordering::Relaxed);
    let (rss_base, rss_peak) = sampler.await.unwrap_or_default();
    let secs = start.elapsed().as_secs_f64();
    let alive = server.alive();
    let panics = server.panics();
    let rss = server.rss_kib().unwrap_or(0);
    drop(server);

    let bad = tally.garbled
        + tally.server_errors
        + tally.dropped
        + tally.timeouts
        + tally.connect_failures
        + panics.len() as u64
        + u64::from(!alive);
    let figure = format!(
        "{} requests in {secs:.0} s ({:.0}/s): {} not Kaltura-shaped, {} 5xx, {} dropped, {} \
         timed out, {} refused connects, {} panics{}",
        tally.sent,
        tally.sent as f64 / secs,
        tally.garbled,
        tally.server_errors,
        tally.dropped,
        tally.timeouts,
        tally.connect_failures,
        panics.len(),
        if alive { "" } else { "; the server died" }
    );
    let rows = vec![Row {
        promise: "Hostile input gets a Kaltura answer, never a crash".into(),
        how: format!(
            "{} requests on {} keep-alive connections across all {action_count} actions and unknown \
             names: generated hostile parameters (JSON and form) and byte-mutated valid bodies",
            tally.sent, o.connections
        ),
        figure,
        target: "0 of each".into(),
        pass: bad == 0 && tally.sent >= total.min(1),
    }];

    let mut codes: Vec<(&String, &u64)> = tally.errors.iter().collect();
    codes.sort_by(|a, b| b.1.cmp(a.1));
    let mut note = format!(
        "Sent {} requests in {secs:.1} s over {} connections ({} re-sent once on a fresh \
         connection after a kept-alive one had been closed). {} of them could reach an argon2id \
         hash (the budget was {}). Server RSS: {} at the start, peak {}, {} at the end.\n\n",
        tally.sent,
        o.connections,
        tally.stale_retries,
        tally.hashing,
        o.hash_budget,
        super::mib(rss_base),
        super::mib(rss_peak),
        super::mib(rss)
    );
    note.push_str("How the requests were made: ");
    note.push_str(
        &tally
            .by_how
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    note.push_str(".\n\nHTTP statuses: ");
    note.push_str(
        &tally
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    note.push_str(&format!(
        ".\n\nReplies: {} valid results; Kaltura errors by code: {}.\n",
        tally.values,
        codes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if !tally.examples.is_empty() {
        note.push_str("\nFirst failures:\n\n");
        for e in &tally.examples {
            note.push_str(&format!("- `{}`\n", e.replace('`', "'")));
        }
    }
    for p in panics.iter().take(5) {
        note.push_str(&format!("\nPanic in the log: `{p}`\n"));
    }
    Ok((rows, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_type_correct_sign_ins_and_changes_are_predicted_to_hash() {
        let login = "/api_v3/service/user/action/loginByLoginId?format=1";
        let json = Some("application/json");
        assert!(would_hash(
            login,
            "POST",
            json,
            br#"{"loginId":"a","password":"b"}"#
        ));
        assert!(would_hash(
            login,
            "POST",
            json,
            br#"{"loginId":1,"password":2,"partnerId":"7"}"#
        ));
        assert!(!would_hash(
            login,
            "POST",
            json,
            br#"{"loginId":" ","password":"b"}"#
        ));
        assert!(!would_hash(
            login,
            "POST",
            json,
            br#"{"loginId":"a","password":[]}"#
        ));
        assert!(!would_hash(
            login,
            "POST",
            json,
            br#"{"loginId":"a","password":"b","partnerId":1.5}"#
        ));
        assert!(!would_hash(
            login,
            "POST",
            json,
            br#"{"loginId":"a","password":"b","ks":1}"#
        ));
        assert!(!would_hash(
            login,
            "GET",
            json,
            br#"{"loginId":"a","password":"b"}"#
        ));
        assert!(!would_hash(
            login,
            "POST",
            Some("text/plain"),
            br#"{"loginId":"a","password":"b"}"#
        ));
        let form = Some("application/x-www-form-urlencoded");
        assert!(would_hash(
            login,
            "POST",
            form,
            b"loginId=a%40b&password=x&partnerId="
        ));
        assert!(!would_hash(
            login,
            "POST",
            form,
            b"loginId=a&password=x&partnerId=z"
        ));
        let change = "/api_v3/service/adminUser/action/updatePassword?format=1";
        assert!(would_hash(
            change,
            "POST",
            json,
            br#"{"email":"a","password":"b","newPassword":"c"}"#
        ));
        assert!(!would_hash(
            change,
            "POST",
            json,
            br#"{"email":"a","password":"b","newPassword":"c","newEmail":"z"}"#
        ));
    }

    #[test]
    fn generated_requests_are_valid_http_and_vary() {
        let v = Valid {
            email: "a@b.c".into(),
            password: "pw".into(),
            partner: 1,
            ks: "k".into(),
        };
        let mut rng = StdRng::seed_from_u64(1);
        let mut hows = std::collections::BTreeSet::new();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 80));
        let actions = actions();
        for _ in 0..2000 {
            let r = generate(&mut rng, &v, &actions);
            let built =
                crate::client::build(addr, r.method, &r.path, r.content_type.as_deref(), &r.body);
            assert!(
                built.is_ok(),
                "{} {} {:?}",
                r.method,
                r.path,
                r.content_type
            );
            hows.insert(r.how);
        }
        assert_eq!(hows.len(), 4);
    }

    #[test]
    fn every_action_the_server_answers_is_attacked_with_its_parameters() {
        let server: Vec<(String, String)> = kmc_server::api::actions()
            .map(|(s, a)| (s.to_ascii_lowercase(), a.to_ascii_lowercase()))
            .collect();
        let ours: Vec<(String, String)> = PARAMETERS
            .iter()
            .map(|(s, a, _, _)| (s.to_ascii_lowercase(), a.to_ascii_lowercase()))
            .collect();
        assert_eq!(ours, server);
        assert_eq!(actions().len(), server.len());
    }
}
