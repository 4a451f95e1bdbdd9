//! Parallel guessing: 1,000 concurrent wrong passwords at one login, then 1,000 concurrent wrong
//! authenticator codes (with the right password) at another, each guess on its own connection
//! from its own loopback address, so per-address defences do not hide the per-login limit.
//!
//! With `--reveal-login-errors` the codes tell what happened to each guess:
//! `USER_WRONG_PASSWORD` / `INVALID_OTP` = evaluated below the limit, `LOGIN_RETRIES_EXCEEDED` =
//! the guess that reached it (also evaluated), `LOGIN_BLOCKED` (or the overload error
//! `RESOURCE_IS_RESERVED`) = refused without evaluation. Evaluated guesses must equal the limit
//! exactly; then the right credentials are refused until the block ends, and accepted after it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Barrier;

use super::codes::{current_step, enroll, totp};
use super::{Env, Findings, Row};
use crate::client::{Conn, Outcome, client_ip, connect};
use crate::server::{Server, Spec, random_password, temp_dir};

const LIMIT: i64 = 10;
const BLOCK_MINUTES: u64 = 1;
const WAVES: usize = 5;

/// What `n` concurrent requests got: code (or `VALUE` / failure text) → count, and when the
/// first `LOGIN_RETRIES_EXCEEDED` reply came.
struct Wave {
    codes: BTreeMap<String, u64>,
    limit_reached_at: Option<Instant>,
}

/// Sends `bodies` to `user.loginByLoginId` all at once, each from its own address.
async fn fire(addr: SocketAddr, bodies: Vec<Value>, first_ip: usize) -> Wave {
    let n = bodies.len();
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let stream =
                    connect(addr, Some(client_ip(first_ip + i)), Duration::from_secs(20)).await;
                barrier.wait().await;
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) => return (format!("no connection ({e})"), Instant::now()),
                };
                let mut conn = match Conn::from_stream(addr, stream).await {
                    Ok(c) => c,
                    Err(e) => return (format!("no connection ({e})"), Instant::now()),
                };
                let r = conn
                    .call("user", "loginByLoginId", &body, Duration::from_secs(180))
                    .await;
                let what = match r {
                    Ok(reply) => match reply.outcome() {
                        Outcome::Error(code) => code,
                        Outcome::Value(_) => "a session (the guess was accepted)".into(),
                        Outcome::Garbled => format!("garbled reply {}", reply.text(100)),
                    },
                    Err(e) => format!("no reply ({e})"),
                };
                (what, Instant::now())
            })
        })
        .collect();
    let mut w = Wave {
        codes: BTreeMap::new(),
        limit_reached_at: None,
    };
    for t in tasks {
        let (what, at) = t
            .await
            .unwrap_or_else(|e| (format!("task failed: {e}"), Instant::now()));
        if what == "LOGIN_RETRIES_EXCEEDED" {
            w.limit_reached_at = Some(w.limit_reached_at.map_or(at, |x: Instant| x.min(at)));
        }
        *w.codes.entry(what).or_default() += 1;
    }
    w
}

/// One guessing campaign: waves of concurrent guesses until the limit is reached.
struct Campaign {
    sent: usize,
    codes: BTreeMap<String, u64>,
    limit_reached_at: Option<Instant>,
}

async fn campaign(
    addr: SocketAddr,
    guesses: usize,
    first_ip: usize,
    mut body: impl FnMut(usize) -> Value,
) -> Campaign {
    let mut c = Campaign {
        sent: 0,
        codes: BTreeMap::new(),
        limit_reached_at: None,
    };
    for wave in 0..WAVES {
        let bodies: Vec<Value> = (0..guesses).map(&mut body).collect();
        c.sent += bodies.len();
        let w = fire(addr, bodies, first_ip + wave * guesses).await;
        for (k, v) in w.codes {
            *c.codes.entry(k).or_default() += v;
        }
        if let Some(at) = w.limit_reached_at {
            c.limit_reached_at = Some(at);
            break;
        }
    }
    c
}

fn evaluated(c: &Campaign, below: &str) -> u64 {
    c.codes.get(below).copied().unwrap_or(0)
        + c.codes.get("LOGIN_RETRIES_EXCEEDED").copied().unwrap_or(0)
}

fn others(c: &Campaign, below: &str) -> u64 {
    c.codes
        .iter()
        .filter(|(k, _)| {
            ![
                below,
                "LOGIN_RETRIES_EXCEEDED",
                "LOGIN_BLOCKED",
                "RESOURCE_IS_RESERVED",
            ]
            .contains(&k.as_str())
        })
        .map(|(_, v)| v)
        .sum()
}

fn describe(c: &Campaign) -> String {
    c.codes
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Signs in once from a fresh address; returns the code, or `KS` for a session.
async fn sign_in(addr: SocketAddr, body: &Value, ip: usize) -> String {
    let mut c = Conn::new(addr, Some(client_ip(ip)));
    match c
        .call("user", "loginByLoginId", body, Duration::from_secs(60))
        .await
    {
        Ok(r) => match r.outcome() {
            Outcome::Error(code) => code,
            Outcome::Value(Value::String(_)) => "KS".into(),
            _ => format!("unexpected reply {}", r.text(100)),
        },
        Err(e) => format!("no reply ({e})"),
    }
}

/// Runs the attack.
pub async fn run(env: &Env) -> Findings {
    let n = env.opts.guesses;
    let tmp = temp_dir("guessing")?;
    let server = Server::start(Spec::api_only(
        &env.bin,
        tmp.path(),
        &[
            "--reveal-login-errors".into(),
            "--max-login-attempts".into(),
            LIMIT.to_string(),
            "--login-block-minutes".into(),
            BLOCK_MINUTES.to_string(),
        ],
    ))?;
    let addr = server.addr;
    let plain = server.add_partner("Guessing Sandbox", false)?;
    let two_fa = server.add_partner("Guessing 2FA", true)?;
    let (pw_email, pw) = ("victim@example.com", random_password());
    let (otp_email, otp_pw) = ("victim2fa@example.com", random_password());
    server.add_user(plain, pw_email, Some(&pw))?;
    server.add_user(two_fa, otp_email, Some(&otp_pw))?;
    let secret = enroll(&server, otp_email).await?;

    println!("  {n} concurrent wrong passwords …");
    let t = Instant::now();
    let pw_campaign = campaign(addr, n, 0, |i| {
        json!({"loginId": pw_email, "password": format!("wrong-guess-{i}"), "partnerId": plain})
    })
    .await;
    println!(
        "  {} ({:.0} s)",
        describe(&pw_campaign),
        t.elapsed().as_secs_f64()
    );
    let pw_right = json!({"loginId": pw_email, "password": pw, "partnerId": plain});
    let pw_during = sign_in(addr, &pw_right, 60_000).await;

    println!("  {n} concurrent wrong codes with the right password …");
    let t = Instant::now();
    let valid_now: Vec<String> = {
        let s = current_step();
        (s.saturating_sub(2)..=s + 3)
            .map(|st| totp(&secret, st))
            .collect()
    };
    let otp_campaign = campaign(addr, n, 6 * n, |i| {
        // Any 6 digits that are not a code valid around now.
        let mut k = (i as u64 * 7919 + 123_457) % 1_000_000;
        while valid_now.contains(&format!("{k:06}")) {
            k = (k + 1) % 1_000_000;
        }
        json!({"loginId": otp_email, "password": otp_pw, "partnerId": two_fa, "otp": format!("{k:06}")})
    })
    .await;
    println!(
        "  {} ({:.0} s)",
        describe(&otp_campaign),
        t.elapsed().as_secs_f64()
    );
    let otp_right = |_: ()| {
        json!({"loginId": otp_email, "password": otp_pw, "partnerId": two_fa,
               "otp": totp(&secret, current_step())})
    };
    let otp_during = sign_in(addr, &otp_right(()), 60_001).await;

    // Wait for both blocks to end, then the right credentials must work again.
    let block = Duration::from_secs(BLOCK_MINUTES * 60 + 3);
    let ends = [pw_campaign.limit_reached_at, otp_campaign.limit_reached_at]
        .into_iter()
        .flatten()
        .map(|t| t + block)
        .max();
    if let Some(end) = ends {
        let wait = end.saturating_duration_since(Instant::now());
        println!(
            "  waiting {:.0} s for the block to end …",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }
    let pw_after = sign_in(addr, &pw_right, 60_002).await;
    let otp_after = sign_in(addr, &otp_right(()), 60_003).await;
    let panics = server.panics();
    drop(server);

    let mut rows = Vec::new();
    for (what, c, below, during, after) in [
        (
            "passwords",
            &pw_campaign,
            "USER_WRONG_PASSWORD",
            &pw_during,
            &pw_after,
        ),
        (
            "codes",
            &otp_campaign,
            "INVALID_OTP",
            &otp_during,
            &otp_after,
        ),
    ] {
        let ev = evaluated(c, below);
        let exceeded = c.codes.get("LOGIN_RETRIES_EXCEEDED").copied().unwrap_or(0);
        let refused_during = during != "KS" && !during.starts_with("no reply");
        let pass = ev == LIMIT as u64
            && exceeded == 1
            && others(c, below) == 0
            && refused_during
            && after == "KS"
            && panics.is_empty();
        let credentials = if what == "passwords" {
            "right password"
        } else {
            "right password and code"
        };
        rows.push(Row {
            promise: format!("Parallel wrong {what} get no more evaluations than the limit"),
            how: format!(
                "{n} concurrent wrong {what}{} at one login, one connection and source address \
                 each (`--max-login-attempts {LIMIT} --login-block-minutes {BLOCK_MINUTES}`)",
                if what == "codes" {
                    " (right password)"
                } else {
                    ""
                }
            ),
            figure: format!(
                "{} sent: {ev} evaluated ({}); {credentials} during the block: {during}; after \
                 it: {after}",
                c.sent,
                describe(c)
            ),
            target: format!(
                "evaluated = {LIMIT} exactly (1 LOGIN_RETRIES_EXCEEDED); {credentials} refused \
                 until the block ends, then accepted"
            ),
            pass,
        });
    }
    let note = format!(
        "Each guess had its own connection and its own source address (127.1.x.y), all sent \
         together after every connection was open. A wave of {n} was repeated (up to {WAVES}) \
         until one guess reached the limit. `KS` means the right credentials got a session. \
         Panics in the log: {}.\n",
        panics.len()
    );
    Ok((rows, note))
}
