//! Crash: `kill -9` the server in the middle of a write-heavy load, restart it over the same
//! data folder, and check that every write that got an answer is still there, 20 times.
//!
//! Four workers each own a password login and a two-factor login and, until the kill, change
//! passwords, use emailed reset links, open and end sessions and sign in with codes. What was
//! answered is recorded; what was in flight at the kill is "uncertain" and may have gone either
//! way. After each kill: `PRAGMA integrity_check` on the database, then, on the restarted
//! server: the latest answered password works (or, if a change was in flight, the old or the new
//! one does), answered sessions are valid and ended ones are not, used links are refused, and
//! accepted codes are refused when replayed.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rand::Rng;
use serde_json::{Value, json};
use totp_rs::Totp;

use super::codes::{current_step, enroll, totp};
use super::{Env, Findings, Row};
use crate::client::{Conn, Outcome, client_ip};
use crate::server::{Server, Spec, random_password, temp_dir};

const WORKERS: usize = 4;
const CALL: Duration = Duration::from_secs(20);

/// A two-factor login and the last time step a code of it was sent for.
struct OtpLogin {
    email: String,
    password: String,
    key: Totp,
    last_step: u64,
}

/// Two-factor logins per worker.
const OTP_LOGINS: usize = 4;

/// What one worker knows about its logins.
struct Worker {
    n: usize,
    email: String,
    password: String,
    /// A password change or link use in flight at the kill: the password may be this one now.
    pending: Option<String>,
    /// The link of a link use in flight at the kill.
    pending_link: Option<String>,
    /// Two-factor logins: each accepts one code per 30-second step, so there are several.
    otp: Vec<OtpLogin>,
    partner: i64,
    otp_partner: i64,
    /// Codes the server accepted since the last check: (login index, step, code).
    codes: Vec<(usize, u64, String)>,
    /// Answered sessions, live and ended, since the last check. A password change may end the
    /// login's sessions, so the live ones opened before a change are not expected to survive it.
    sessions: Vec<String>,
    ended: Vec<String>,
    /// Links whose use was answered OK, since the last check.
    used_links: Vec<String>,
    seen_links: Vec<String>,
    /// Things that went wrong while the server was up (unexpected refusals).
    anomalies: Vec<String>,
}

#[derive(Default)]
struct Counts {
    password_changes: u64,
    link_uses: u64,
    sessions: u64,
    ends: u64,
    codes: u64,
    in_flight: u64,
}

/// Performs operations until a call fails (the server was killed) or `stop_at` passes.
async fn work(w: &mut Worker, server: &Server, stop_at: Instant, counts: &mut Counts) {
    let mut conn = Conn::new(server.addr, Some(client_ip(100 + w.n)));
    let mut resets = 0;
    while Instant::now() < stop_at {
        let op = rand::thread_rng().gen_range(0..4);
        match op {
            0 => {
                let new = random_password();
                let body = json!({"email": w.email, "password": w.password, "newEmail": "",
                                  "newPassword": new});
                match conn.call("adminUser", "updatePassword", &body, CALL).await {
                    Ok(r) => match r.outcome() {
                        Outcome::Value(_) => {
                            w.password = new;
                            w.sessions.clear();
                            counts.password_changes += 1;
                        }
                        _ => w
                            .anomalies
                            .push(format!("updatePassword refused: {}", r.text(120))),
                    },
                    Err(_) => {
                        w.pending = Some(new);
                        w.sessions.clear();
                        counts.in_flight += 1;
                        return;
                    }
                }
            }
            1 if resets < 3 => {
                resets += 1;
                let body = json!({"email": w.email});
                if conn
                    .call("user", "resetPassword", &body, CALL)
                    .await
                    .is_err()
                {
                    return;
                }
                // The mail is written after the reply.
                let mut key = None;
                let wait_until = Instant::now() + Duration::from_secs(2);
                while key.is_none() && Instant::now() < wait_until.min(stop_at) {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    key = server.mailed_link(&w.email, "restore-password", &w.seen_links);
                }
                let Some(key) = key else { continue };
                w.seen_links.push(key.clone());
                let new = random_password();
                let body = json!({"hashKey": key, "newPassword": new});
                match conn.call("user", "setInitialPassword", &body, CALL).await {
                    Ok(r) => match r.outcome() {
                        Outcome::Value(_) => {
                            w.password = new;
                            w.sessions.clear();
                            w.used_links.push(key);
                            counts.link_uses += 1;
                        }
                        _ => w
                            .anomalies
                            .push(format!("setInitialPassword refused: {}", r.text(120))),
                    },
                    Err(_) => {
                        w.pending = Some(new);
                        w.sessions.clear();
                        w.pending_link = Some(key);
                        counts.in_flight += 1;
                        return;
                    }
                }
            }
            2 => {
                let body =
                    json!({"loginId": w.email, "password": w.password, "partnerId": w.partner});
                let ks = match conn.call("user", "loginByLoginId", &body, CALL).await {
                    Ok(r) => match r.outcome() {
                        Outcome::Value(Value::String(ks)) => ks,
                        _ => {
                            w.anomalies
                                .push(format!("sign-in refused: {}", r.text(120)));
                            continue;
                        }
                    },
                    Err(_) => {
                        counts.in_flight += 1;
                        return;
                    }
                };
                counts.sessions += 1;
                if rand::thread_rng().gen_bool(0.5) {
                    w.sessions.push(ks);
                    continue;
                }
                match conn.call("session", "end", &json!({"ks": ks}), CALL).await {
                    Ok(r) if r.outcome() == Outcome::Value(Value::Null) => {
                        w.ended.push(ks);
                        counts.ends += 1;
                    }
                    Ok(r) => w
                        .anomalies
                        .push(format!("session.end refused: {}", r.text(120))),
                    Err(_) => {
                        counts.in_flight += 1;
                        return;
                    }
                }
            }
            _ => {
                // The login whose next unused step is the earliest; a code may be for the
                // current step or the next (the server accepts one step of skew).
                let now = current_step();
                let Some((i, o)) = w
                    .otp
                    .iter_mut()
                    .enumerate()
                    .min_by_key(|(_, o)| o.last_step)
                else {
                    continue;
                };
                let step = now.max(o.last_step + 1);
                if step > now + 1 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let code = totp(&o.key, step);
                let body = json!({"loginId": o.email, "password": o.password,
                                  "partnerId": w.otp_partner, "otp": code});
                o.last_step = step;
                match conn.call("user", "loginByLoginId", &body, CALL).await {
                    Ok(r) => match r.outcome() {
                        Outcome::Value(Value::String(_)) => {
                            w.codes.push((i, step, code));
                            counts.codes += 1;
                        }
                        _ => w
                            .anomalies
                            .push(format!("code sign-in refused: {}", r.text(120))),
                    },
                    Err(_) => {
                        counts.in_flight += 1;
                        return;
                    }
                }
            }
        }
    }
}

/// True when `email` / `pw` gets a session.
async fn signs_in(conn: &mut Conn, email: &str, pw: &str, partner: i64) -> bool {
    let body = json!({"loginId": email, "password": pw, "partnerId": partner});
    match conn.call("user", "loginByLoginId", &body, CALL).await {
        Ok(r) => matches!(r.outcome(), Outcome::Value(Value::String(_))),
        Err(_) => false,
    }
}

/// After a restart: checks what the worker was told against the server. Returns the failures;
/// a link spent by a use in flight whose password did not change goes to `split`.
async fn verify(w: &mut Worker, server: &Server, split: &mut Vec<String>) -> Vec<String> {
    let mut bad = Vec::new();
    let mut conn = Conn::new(server.addr, Some(client_ip(200 + w.n)));
    // The password: the last answered one, or the one in flight at the kill.
    let (email, partner) = (w.email.clone(), w.partner);
    let old = w.password.clone();
    if signs_in(&mut conn, &email, &old, partner).await {
        if let Some(link) = w.pending_link.take()
            && link_state(&mut conn, &link).await != "valid"
        {
            split.push(format!(
                "{email}: a reset link whose use was in flight at the kill is spent, but the \
                 password did not change"
            ));
        }
    } else if let Some(p) = w.pending.clone()
        && signs_in(&mut conn, &email, &p, partner).await
    {
        w.password = p;
        if let Some(link) = w.pending_link.take()
            && link_state(&mut conn, &link).await == "valid"
        {
            bad.push(format!(
                "{email}: the password set through a link changed but the link is still usable"
            ));
        }
    } else {
        bad.push(format!(
            "{email}: neither the last answered password nor the one in flight works"
        ));
    }
    w.pending = None;
    w.pending_link = None;
    // Sessions and ended sessions.
    for ks in std::mem::take(&mut w.sessions) {
        match conn.call("user", "get", &json!({"ks": ks}), CALL).await {
            Ok(r) if matches!(r.outcome(), Outcome::Value(_)) => {}
            Ok(r) => bad.push(format!(
                "{}: an answered session is gone: {}",
                w.email,
                r.text(100)
            )),
            Err(e) => bad.push(format!("user.get: {e}")),
        }
    }
    for ks in std::mem::take(&mut w.ended) {
        match conn.call("user", "get", &json!({"ks": ks}), CALL).await {
            Ok(r) if r.code().as_deref() == Some("INVALID_KS") => {}
            Ok(r) => bad.push(format!(
                "{}: an ended session works again: {}",
                w.email,
                r.text(100)
            )),
            Err(e) => bad.push(format!("user.get: {e}")),
        }
    }
    // Used links.
    for key in std::mem::take(&mut w.used_links) {
        let s = link_state(&mut conn, &key).await;
        if s == "valid" {
            bad.push(format!("{}: a used reset link is usable again", w.email));
        }
    }
    // Accepted codes, replayed while still inside the ±1 step window.
    let now = current_step();
    for (i, step, code) in std::mem::take(&mut w.codes) {
        if step + 1 < now {
            continue;
        }
        let o = &w.otp[i];
        let body = json!({"loginId": o.email, "password": o.password,
                          "partnerId": w.otp_partner, "otp": code});
        match conn.call("user", "loginByLoginId", &body, CALL).await {
            Ok(r) if matches!(r.outcome(), Outcome::Value(_)) => bad.push(format!(
                "{}: an accepted code was accepted again after the restart",
                o.email
            )),
            Ok(_) => {}
            Err(e) => bad.push(format!("code replay: {e}")),
        }
    }
    bad
}

/// `valid`, or the code `validateHashKey` answers.
async fn link_state(conn: &mut Conn, key: &str) -> String {
    match conn
        .call("user", "validateHashKey", &json!({"hashKey": key}), CALL)
        .await
    {
        Ok(r) => match r.outcome() {
            Outcome::Value(_) => "valid".into(),
            Outcome::Error(c) => c,
            Outcome::Garbled => "garbled".into(),
        },
        Err(e) => e.to_string(),
    }
}

fn integrity(db: &std::path::Path) -> Result<String> {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg("PRAGMA integrity_check;")
        .output()
        .context("cannot run sqlite3: install it with `apt-get install -y sqlite3`")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()
        + String::from_utf8_lossy(&out.stderr).trim())
}

/// Makes sure the `sqlite3` CLI is there, installing it with apt-get when running as root.
fn ensure_sqlite3() -> Result<()> {
    let have = || {
        Command::new("sqlite3")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        println!("  installing sqlite3 (apt-get) for PRAGMA integrity_check …");
        let _ = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "sqlite3"])
            .status();
    }
    if have() {
        Ok(())
    } else {
        bail!("the sqlite3 CLI is missing: run `apt-get install -y sqlite3`")
    }
}

/// Runs the attack.
pub async fn run(env: &Env) -> Findings {
    ensure_sqlite3()?;
    let rounds = env.opts.rounds;
    let tmp = temp_dir("crash")?;
    let mut server = Server::start(Spec::api_only(
        &env.bin,
        tmp.path(),
        &[
            "--reveal-login-errors".into(),
            // Replaying accepted codes must not lock the logins out.
            "--max-login-attempts".into(),
            "1000000".into(),
        ],
    ))?;
    let db = server.data().join("kmc.sqlite3");
    let partner = server.add_partner("Crash Sandbox", false)?;
    let otp_partner = server.add_partner("Crash 2FA", true)?;
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let email = format!("crash{n}@example.com");
        let password = random_password();
        server.add_user(partner, &email, Some(&password))?;
        let mut otp = Vec::new();
        for k in 0..OTP_LOGINS {
            let email = format!("crash2fa{n}-{k}@example.com");
            let password = random_password();
            server.add_user(otp_partner, &email, Some(&password))?;
            let key = enroll(&server, &email).await?;
            otp.push(OtpLogin {
                email,
                password,
                key,
                last_step: 0,
            });
        }
        workers.push(Worker {
            n,
            email,
            password,
            pending: None,
            pending_link: None,
            otp,
            partner,
            otp_partner,
            codes: Vec::new(),
            sessions: Vec::new(),
            ended: Vec::new(),
            used_links: Vec::new(),
            seen_links: Vec::new(),
            anomalies: Vec::new(),
        });
    }

    let mut counts = Counts::default();
    let mut failures: Vec<String> = Vec::new();
    let mut integrity_bad = Vec::new();
    let mut split = Vec::new();
    let mut done = 0;
    for round in 0..rounds {
        let load_for = Duration::from_millis(rand::thread_rng().gen_range(300..1500));
        let stop_at = Instant::now() + load_for + Duration::from_secs(5);
        let kill_at = Instant::now() + load_for;
        let srv = &server;
        let mut per_worker: Vec<Counts> = (0..WORKERS).map(|_| Counts::default()).collect();
        {
            let jobs = workers
                .iter_mut()
                .zip(per_worker.iter_mut())
                .map(|(w, c)| work(w, srv, stop_at, c));
            let all = futures::future::join_all(jobs);
            tokio::pin!(all);
            tokio::select! {
                _ = &mut all => {}
                () = tokio::time::sleep_until(kill_at.into()) => {
                    // The crash: the workers' calls in flight fail from here on.
                    let pid = srv.pid();
                    if let Some(pid) = pid {
                        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                    }
                    all.await;
                }
            }
        }
        server.kill9();
        for c in per_worker {
            counts.password_changes += c.password_changes;
            counts.link_uses += c.link_uses;
            counts.sessions += c.sessions;
            counts.ends += c.ends;
            counts.codes += c.codes;
            counts.in_flight += c.in_flight;
        }
        let check = integrity(&db)?;
        if check != "ok" {
            integrity_bad.push(format!("round {}: {check}", round + 1));
        }
        server
            .restart()
            .with_context(|| format!("restart after kill {} failed", round + 1))?;
        for w in workers.iter_mut() {
            let bad = verify(w, &server, &mut split).await;
            failures.extend(bad.into_iter().map(|b| format!("round {}: {b}", round + 1)));
        }
        done += 1;
        print!("  round {}/{rounds} ", round + 1);
        println!("({} failures so far)", failures.len() + integrity_bad.len());
    }
    let panics = server.panics();
    drop(server);
    let anomalies: Vec<String> = workers.iter().flat_map(|w| w.anomalies.clone()).collect();

    let figure = format!(
        "{done} kills; answered writes checked after restart: {} password changes, {} link \
         uses, {} sessions opened, {} ended, {} codes accepted ({} calls in flight at kills): \
         {} lost or reusable, integrity_check not ok {} times",
        counts.password_changes,
        counts.link_uses,
        counts.sessions,
        counts.ends,
        counts.codes,
        counts.in_flight,
        failures.len(),
        integrity_bad.len()
    );
    let rows = vec![Row {
        promise: "Every answered write survives a crash; used links and codes stay used".into(),
        how: format!(
            "`kill -9` during password changes, reset-link uses, sign-ins, session ends and code \
             sign-ins ({WORKERS} workers, {} logins), then restart; {rounds} times",
            WORKERS * (1 + OTP_LOGINS)
        ),
        figure,
        target: "0 lost writes, 0 reusable links or codes, integrity_check ok every time".into(),
        pass: failures.is_empty() && integrity_bad.is_empty() && done == rounds,
    }];
    let mut note = format!(
        "Each round ran the load for 0.3–1.5 s, killed the server with SIGKILL, ran `PRAGMA \
         integrity_check` with the sqlite3 CLI, restarted the server on the same folder and \
         checked what the round's answers promised. Unexpected refusals while the server was up \
         (not failures of this promise, listed for review): {}. Link uses in flight at a kill \
         that spent the link without changing the password: {}. Panics in the log: {}.\n",
        anomalies.len(),
        split.len(),
        panics.len()
    );
    for f in failures
        .iter()
        .chain(&integrity_bad)
        .chain(&anomalies)
        .chain(&split)
        .take(12)
    {
        note.push_str(&format!("\n- {f}"));
    }
    note.push('\n');
    Ok((rows, note))
}
