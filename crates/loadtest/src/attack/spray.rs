//! Password spraying: one client tries one wrong password at each of 1,000 different logins, so
//! no per-login limit ever triggers. The per-client limit (`--max-client-failures`, default 50
//! per `--client-window-minutes`, default 15) must start refusing after its threshold, with a
//! Kaltura error and without hashing (so fast).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Env, Findings, Row};
use crate::client::{Conn, Failure, Outcome};
use crate::server::{Server, Spec, temp_dir};
use crate::stats::Latencies;

/// The per-client threshold the server is expected to enforce by default.
const THRESHOLD: usize = 50;

/// Runs the attack.
pub async fn run(env: &Env) -> Findings {
    let n = env.opts.logins;
    let tmp = temp_dir("spray")?;
    let server = Server::start(Spec::api_only(
        &env.bin,
        tmp.path(),
        &["--reveal-login-errors".into()],
    ))?;
    let partner = server.add_partner("Spray Sandbox", false)?;
    println!("  creating {n} logins …");
    let t = Instant::now();
    // Logins without a password (a set-password link is mailed instead): no hash to create
    // them, and a sign-in at one still costs a full (dummy) hash, like any wrong password.
    let emails: Vec<String> = (0..n).map(|i| format!("spray{i}@example.com")).collect();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = emails
            .chunks(n.div_ceil(4).max(1))
            .map(|chunk| {
                let server = &server;
                s.spawn(move || -> anyhow::Result<()> {
                    for e in chunk {
                        server.add_user(partner, e, None)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a setup thread panicked"))??;
        }
        Ok(())
    })?;
    println!(
        "  {n} logins in {:.0} s; spraying …",
        t.elapsed().as_secs_f64()
    );

    let mut conn = Conn::new(server.addr, None);
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    let mut first_refusal: Option<(usize, String)> = None;
    let mut evaluated_after_refusal = 0u64;
    let (mut lat_evaluated, mut lat_refused) = (Latencies::default(), Latencies::default());
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut sent = 0;
    for (i, email) in emails.iter().enumerate() {
        if Instant::now() > deadline {
            break;
        }
        sent += 1;
        let t = Instant::now();
        let r = conn
            .call(
                "user",
                "loginByLoginId",
                &json!({"loginId": email, "password": "Spring2026!", "partnerId": partner}),
                Duration::from_secs(60),
            )
            .await;
        let took = t.elapsed();
        let what = match r {
            Ok(reply) => match reply.outcome() {
                Outcome::Error(code) => code,
                Outcome::Value(_) => "a session".into(),
                Outcome::Garbled => format!("garbled: {}", reply.text(80)),
            },
            Err(Failure::Timeout) => "timeout".into(),
            Err(e) => format!("no reply ({e})"),
        };
        if what == "USER_WRONG_PASSWORD" {
            lat_evaluated.record(took);
            if first_refusal.is_some() {
                evaluated_after_refusal += 1;
            }
        } else {
            lat_refused.record(took);
            if first_refusal.is_none() {
                first_refusal = Some((i + 1, what.clone()));
            }
        }
        *codes.entry(what).or_default() += 1;
    }
    let panics = server.panics();
    drop(server);
    let (p_ev, p_ref) = (lat_evaluated.median(), lat_refused.median());
    let refusal_is_kaltura = first_refusal
        .as_ref()
        .is_some_and(|(_, c)| c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'));
    let fast = lat_refused.is_empty() || lat_evaluated.is_empty() || p_ref * 2.0 < p_ev;
    let pass = first_refusal
        .as_ref()
        .is_some_and(|(at, _)| *at <= THRESHOLD + 1)
        && evaluated_after_refusal == 0
        && refusal_is_kaltura
        && fast
        && panics.is_empty();
    let figure = match &first_refusal {
        Some((at, code)) => format!(
            "refusal from request {at} on ({code}); {} evaluated in all, {evaluated_after_refusal} \
             after the first refusal; median {p_ev:.0} ms evaluated vs {p_ref:.1} ms refused",
            lat_evaluated.len()
        ),
        None => format!(
            "never refused: all {sent} guesses evaluated (median {p_ev:.0} ms, a full hash each)"
        ),
    };
    let rows = vec![Row {
        promise: "One client cannot spray guesses across many logins".into(),
        how: format!(
            "one client (127.0.0.1, one keep-alive connection): one wrong password at each of \
             {sent} logins"
        ),
        figure,
        target: format!(
            "refused after at most {THRESHOLD} (the `--max-client-failures` default) with a \
             Kaltura error, without hashing"
        ),
        pass,
    }];
    let note = format!(
        "Replies by code: {}. The logins have no password (made with `user add` and no \
         `--password-stdin`), so each evaluated guess costs the server's dummy hash, like a \
         wrong password. `--max-client-failures` is {} in this build. Panics in the log: {}.\n",
        codes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        env.flags.presence("--max-client-failures"),
        panics.len()
    );
    Ok((rows, note))
}
